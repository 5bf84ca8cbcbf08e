import CRuntime
import Foundation

// A `.cnm` back into a builder (docs/FORMAT.md), so that `cnm-convert model.cnm --int8` can
// quantise a model that is already converted (ncnn2int8 and TensorFlow Lite's converter take a
// float model the same way). The runtime validates the file first: every record read below is
// then known to lie inside it, and the operators' parameters come decoded from its own table.
extension CNMBuilder {
    public init(cnm bytes: [UInt8], name: String) throws {
        var err = cnm_error()
        var handle: OpaquePointer?
        let st = bytes.withUnsafeBytes { cnm_model_load_memory($0.baseAddress, $0.count, name, CNM_LOAD_NO_FUSION, &handle, &err) }
        guard st == CNM_OK, let m = handle else {
            throw ConvertError(withUnsafeBytes(of: err.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        defer { cnm_model_free(m) }
        self.init()
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        func i32(_ at: Int) -> Int { Int(Int32(truncatingIfNeeded: u32(at))) }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        func section(_ s: Int) -> (offset: Int, count: Int) { (u64(32 + 16 * s), u32(40 + 16 * s)) }
        let strings = section(0).offset
        func string(_ at: Int) -> String { String(decoding: bytes[(strings + u32(at))..<(strings + u32(at) + u32(at + 4))], as: UTF8.self) }

        var info = cnm_model_info()
        cnm_model_get_info(m, &info)
        inputShape = (Int(info.input_c), Int(info.input_h), Int(info.input_w))
        withUnsafeBytes(of: info.mean) { mean = Array($0.bindMemory(to: Float.self).prefix(Int(info.input_c))) }
        withUnsafeBytes(of: info.std) { std = Array($0.bindMemory(to: Float.self).prefix(Int(info.input_c))) }
        resize = Int(info.resize)
        inputValue = u32(144)
        outputValue = u32(148)
        labels = (0..<Int(info.num_classes)).map { String(cString: cnm_model_label(m, UInt32($0))) }
        for k in 0..<Int(info.num_meta) {
            var key: UnsafePointer<CChar>?, value: UnsafePointer<CChar>?
            if cnm_model_meta(m, UInt32(k), &key, &value) != 0, let key, let value { meta.append((String(cString: key), String(cString: value))) }
        }
        let (tensorAt, nTensors) = section(3)
        for k in 0..<nTensors {
            let at = tensorAt + 48 * k, dims = (0..<u32(at + 12)).map { u32(at + 16 + 4 * $0) }
            let data = Array(bytes[u64(at + 32)..<(u64(at + 32) + u64(at + 40))])
            let dtype: DType
            switch UInt32(u32(at + 8)) {
            case CNM_DT_F32.rawValue: dtype = .f32
            case CNM_DT_I32.rawValue: dtype = .i32
            case CNM_DT_I8.rawValue: dtype = .i8
            case CNM_DT_U8.rawValue: dtype = .u8
            case CNM_DT_I16.rawValue: dtype = .i16
            default: dtype = .f16
            }
            // binary16 widened to f32, as the loader does, so that the quantiser reads every float
            // tensor alike; an int8 conversion stores what stays float as f16 again
            let widened = dtype != .f16 ? data : (0..<(data.count / 2)).flatMap { j -> [UInt8] in
                let h = Float16(bitPattern: UInt16(data[2 * j]) | UInt16(data[2 * j + 1]) << 8)
                return withUnsafeBytes(of: Float(h).bitPattern.littleEndian, Array.init)
            }
            tensors.append(TensorRec(name: string(at), dtype: dtype == .f16 ? .f32 : dtype, dims: dims, bytes: widened))
        }
        let (bufferAt, nBuffers) = section(4), (valueAt, nValues) = section(5), (opAt, nOps) = section(6)
        buffers = (0..<nBuffers).map { (u32(bufferAt + 16 * $0), u32(bufferAt + 16 * $0 + 4), u32(bufferAt + 16 * $0 + 8)) }
        values = (0..<nValues).map { (u32(valueAt + 16 * $0), u32(valueAt + 16 * $0 + 4), u32(valueAt + 16 * $0 + 8)) }
        let types: [UInt32: OpType] = [CNM_OP_CONV2D.rawValue: .conv2d, CNM_OP_CHANNEL.rawValue: .channel, CNM_OP_AVGPOOL.rawValue: .avgpool,
                                       CNM_OP_LINEAR.rawValue: .linear, CNM_OP_MAXPOOL.rawValue: .maxpool, CNM_OP_ADD.rawValue: .add,
                                       CNM_OP_LRN.rawValue: .lrn, CNM_OP_SIGMOID.rawValue: .sigmoid, CNM_OP_CLIP.rawValue: .clip,
                                       CNM_OP_MUL.rawValue: .mul]
        for k in 0..<nOps {
            var o = cnm_op_info()
            guard cnm_model_op(m, UInt32(k), &o) != 0, let type = types[o.type] else {
                throw ConvertError("\(name): op \(k) has an operator type this converter cannot write back")
            }
            if o.quantized != 0 { throw ConvertError("\(name): op \(k) is already int8; quantise the fp32 model") }
            let at = opAt + 64 * k
            ops.append(OpRec(type: type, relu: o.relu != 0, input: Int(o.in0), input1: Int(o.in1), output: Int(o.out),
                             t: (0..<4).map { i32(at + 20 + 4 * $0) }, params: o.params))
        }
    }
}
