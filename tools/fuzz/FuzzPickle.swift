// libFuzzer harness for the checkpoint reader's own parsing code: the unpickler and the
// tensor materialisation (strides, offsets, storage sizes). Built and run by tools/fuzz.sh:
//   swiftc -parse-as-library -sanitize=fuzzer,address Unpickler.swift PickleError.swift Tensor.swift \
//     ConvertError.swift FuzzPickle.swift
// The input is a pickle; its bytes also serve as the storage every tensor refers to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var u = Unpickler(bytes: bytes, name: "fuzz.pkl")
    defer { u.breakCycles() }
    guard let v = try? u.load() else { return 0 }
    // walk the result once per container and at most 100,000 steps (values can be cyclic or
    // share sub-tuples, which would make a naive walk endless or exponential)
    var seen = Set<ObjectIdentifier>()
    var budget = 100_000
    func visit(_ v: PickleValue, _ depth: Int) {
        budget -= 1
        guard depth < 50, budget > 0 else { return }
        switch v {
        case .tensor(let t): _ = try? Tensor.materialise("t", t, bytes, path: "fuzz.pkl")
        case .dict(let d):
            guard seen.insert(ObjectIdentifier(d)).inserted else { return }
            for (k, x) in d.items { visit(k, depth + 1); visit(x, depth + 1) }
        case .list(let l):
            guard seen.insert(ObjectIdentifier(l)).inserted else { return }
            for x in l.items { visit(x, depth + 1) }
        case .tuple(let t): for x in t { visit(x, depth + 1) }
        case .object(_, let a): for x in a { visit(x, depth + 1) }
        default: break
        }
    }
    _ = v.description
    visit(v, 0)
    return 0
}
