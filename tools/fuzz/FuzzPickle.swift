// libFuzzer harness for the checkpoint reader's own parsing code: the unpickler and the
// tensor materialisation (strides, offsets, storage sizes). Built and run by tools/fuzz.sh:
//   swiftc -parse-as-library -sanitize=fuzzer,address Unpickler.swift Tensor.swift FuzzPickle.swift
// The input is a pickle; its bytes also serve as the storage every tensor refers to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var u = Unpickler(bytes: bytes, name: "fuzz.pkl")
    defer { u.breakCycles() }
    guard let v = try? u.load() else { return 0 }
    func visit(_ v: PickleValue, _ depth: Int) {
        guard depth < 50 else { return }
        switch v {
        case .tensor(let t): _ = try? Tensor.materialise("t", t, bytes, path: "fuzz.pkl")
        case .dict(let d): for (k, x) in d.items { visit(k, depth + 1); visit(x, depth + 1) }
        case .list(let l): for x in l.items { visit(x, depth + 1) }
        case .tuple(let t): for x in t { visit(x, depth + 1) }
        case .object(_, let a): for x in a { visit(x, depth + 1) }
        default: break
        }
    }
    visit(v, 0)
    return 0
}
