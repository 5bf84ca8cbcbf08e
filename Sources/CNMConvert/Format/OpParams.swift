import CRuntime

// The typed parameters of the operators, mirroring cnm.h's cnm_*_params: `CNMBuilder` stores
// them as a `cnm_op_params` and `cnm_op_encode` turns them into an OPS record's slots.

/// `cnm_conv2d_params`.
public struct Conv2DParams: Sendable, Equatable {
    public var strideH: Int, strideW: Int
    public var padH: Int, padW: Int
    public var groups: Int
    /// int8: the scale of the input's uint8 codes, else 0
    public var inputScale: Float = 0
    /// int8: their zero point 0...255, else 0
    public var zeroPoint = 0
    /// int8: 8 (weights -127...127) or 7 (-63...63); 0 for an fp32 conv
    public var weightBits = 0

    public init(strideH: Int, strideW: Int, padH: Int, padW: Int, groups: Int = 1) {
        self.strideH = strideH
        self.strideW = strideW
        self.padH = padH
        self.padW = padW
        self.groups = groups
    }

    /// The same stride and padding on both axes.
    public init(stride: Int = 1, pad: Int = 0, groups: Int = 1) {
        self.init(strideH: stride, strideW: stride, padH: pad, padW: pad, groups: groups)
    }

    var c: cnm_conv2d_params {
        cnm_conv2d_params(stride_h: Int32(strideH), stride_w: Int32(strideW), pad_h: Int32(padH), pad_w: Int32(padW),
                          groups: Int32(groups), input_scale: inputScale, zero_point: Int32(zeroPoint),
                          weight_bits: Int32(weightBits))
    }
}

/// `cnm_channel_params`.
public struct ChannelParams: Sendable, Equatable {
    /// 0 or 1: none; g > 1: output channel c reads (c % g) * (cin / g) + c / g
    public var shuffleGroups: Int

    public init(shuffleGroups: Int = 0) { self.shuffleGroups = shuffleGroups }

    var c: cnm_channel_params { cnm_channel_params(shuffle_groups: Int32(shuffleGroups)) }
}

/// `cnm_pool_params` (for both avgpool and maxpool).
public struct PoolParams: Sendable, Equatable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padH: Int, padW: Int
    /// max pool only: the output size rounded up (PyTorch's ceil_mode)
    public var ceilMode: Bool

    public init(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padH: Int = 0, padW: Int = 0, ceilMode: Bool = false) {
        self.kernelH = kernelH
        self.kernelW = kernelW
        self.strideH = strideH
        self.strideW = strideW
        self.padH = padH
        self.padW = padW
        self.ceilMode = ceilMode
    }

    /// A square window with the same stride and padding on both axes.
    public init(kernel: Int, stride: Int, pad: Int = 0) {
        self.init(kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride, padH: pad, padW: pad)
    }

    var c: cnm_pool_params {
        cnm_pool_params(kernel_h: Int32(kernelH), kernel_w: Int32(kernelW), stride_h: Int32(strideH), stride_w: Int32(strideW),
                        pad_h: Int32(padH), pad_w: Int32(padW), ceil_mode: ceilMode ? 1 : 0)
    }
}

/// `cnm_lrn_params`.
public struct LRNParams: Sendable, Equatable {
    public var size: Int
    public var alpha: Float, beta: Float, bias: Float

    public init(size: Int, alpha: Float, beta: Float, bias: Float) {
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.bias = bias
    }

    var c: cnm_lrn_params { cnm_lrn_params(size: Int32(size), alpha: alpha, beta: beta, bias: bias) }
}

/// `cnm_clip_params`.
public struct ClipParams: Sendable, Equatable {
    /// min <= max; either may be infinite (no bound on that side)
    public var min: Float, max: Float

    public init(min: Float, max: Float) {
        self.min = min
        self.max = max
    }

    var c: cnm_clip_params { cnm_clip_params(min: min, max: max) }
}
