import CRuntime
import Testing

@testable import CNMConvert

/// The typed operator parameters against the slots the C encoder writes (docs/FORMAT.md).
struct OpParamsTests {
    static func bits(_ v: Float) -> Int32 { Int32(bitPattern: v.bitPattern) }

    @Test func slotsComeFromCnmOpEncode() {
        var b = CNMBuilder()
        b.addConv2d(input: 0, output: 1, weight: 0, bias: 1, relu: true,
                    params: Conv2DParams(strideH: 2, strideW: 1, padH: 3, padW: 0, groups: 4))
        b.addConv2d(input: 0, output: 1, weight: 0, params: Conv2DParams(stride: 1, pad: 1))
        b.setQuantized(op: 1, weight: 2, weightScales: 3, inputScale: 0.25, zeroPoint: 7)
        b.addPool(.max, input: 0, output: 1,
                  params: PoolParams(kernelH: 3, kernelW: 2, strideH: 2, strideW: 1, padH: 1, padW: 0, ceilMode: true))
        b.addPool(.average, input: 0, output: 1, params: PoolParams(kernel: 7, stride: 1))
        b.addLRN(input: 0, output: 1, params: LRNParams(size: 5, alpha: 1e-4, beta: 0.75, bias: 2))
        b.addChannel(input: 0, output: 1, scale: 4, shift: 5, index: 6, params: ChannelParams(shuffleGroups: 4))
        b.addLinear(input: 0, output: 1, weight: 7, index: 8)
        b.addAdd(input: 0, input1: 2, output: 1)
        b.addClip(input: 0, output: 1, params: ClipParams(min: 0, max: 6))
        b.addMul(input: 0, input1: 2, output: 1)
        #expect(b.ops.map { b.slots($0) } == [
            [2, 1, 3, 0, 4, 0, 0],
            [1, 1, 1, 1, 1, Self.bits(0.25), 7],
            [3, 2, 2, 1, 1, 0, 1],
            [7, 7, 1, 1, 0, 0, 0],
            [5, Self.bits(1e-4), Self.bits(0.75), Self.bits(2), 0, 0, 0],
            [4, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0],
            [0, Self.bits(6), 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0],
        ])
        #expect(b.ops.map(\.type.code) == [CNM_OP_CONV2D, CNM_OP_CONV2D, CNM_OP_MAXPOOL, CNM_OP_AVGPOOL, CNM_OP_LRN,
                                          CNM_OP_CHANNEL, CNM_OP_LINEAR, CNM_OP_ADD, CNM_OP_CLIP, CNM_OP_MUL].map(\.rawValue))
        #expect(b.ops.map(\.t) == [[0, 1, -1, -1], [2, -1, 3, -1], [-1, -1, -1, -1], [-1, -1, -1, -1], [-1, -1, -1, -1],
                                   [4, 5, 6, -1], [7, -1, 8, -1], [-1, -1, -1, -1], [-1, -1, -1, -1], [-1, -1, -1, -1]])
        #expect(b.ops[0].relu && b.ops[7].input1 == 2 && b.ops.last?.input1 == 2)
    }

    @Test func dtypeCodesAreCnmH() {
        let all: [CNMBuilder.DType] = [.f32, .i32, .i8, .u8, .f16, .i16]
        #expect(all.map(\.code) == [CNM_DT_F32, CNM_DT_I32, CNM_DT_I8, CNM_DT_U8, CNM_DT_F16, CNM_DT_I16].map(\.rawValue))
    }
}
