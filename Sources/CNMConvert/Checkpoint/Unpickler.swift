import Foundation

/// A value produced by the unpickler. Only what `torch.save` emits is modelled; any
/// other callable becomes an opaque `.object`.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list(PickleList)
    case tuple([PickleValue])
    case dict(PickleDict)
    case global(module: String, name: String)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)
    case object(callable: String, args: [PickleValue])

    /// Bounded: tuples can share sub-tuples (DUP), so an unbounded walk can be exponential.
    public var description: String { describe(depth: 0) }

    func describe(depth: Int) -> String {
        if depth > 3 { return "..." }
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let f): return String(f)
        case .string(let s): return "'\(s)'"
        case .bytes(let b): return "bytes(\(b.count))"
        case .list(let l): return "list(\(l.items.count))"
        case .tuple(let t):
            return "(" + t.prefix(6).map { $0.describe(depth: depth + 1) }.joined(separator: ", ") + (t.count > 6 ? ", ..." : "") + ")"
        case .dict(let d): return "dict(\(d.items.count))"
        case .global(let m, let n): return "\(m).\(n)"
        case .storage(let s): return "storage(\(s.key))"
        case .tensor(let t): return "tensor\(t.shape)"
        case .object(let c, _): return "\(c)(...)"
        }
    }

    var asInt: Int64? { if case .int(let i) = self { return i }; if case .bool(let b) = self { return b ? 1 : 0 }; return nil }
    var asString: String? { if case .string(let s) = self { return s }; return nil }
}

public final class PickleList { public var items: [PickleValue] = [] }
public final class PickleDict {
    public var items: [(key: PickleValue, value: PickleValue)] = []
    public subscript(key: String) -> PickleValue? {
        items.first { $0.key.asString == key }?.value
    }
}

public struct TorchStorageRef {
    public let type: String      // e.g. FloatStorage
    public let key: String       // file name under data/
    public let count: Int        // elements
}

public struct TorchTensorRef {
    public let storage: TorchStorageRef
    public let offset: Int
    public let shape: [Int]
    public let stride: [Int]
}

/// A small unpickler for the opcodes of protocols 0-5 that `torch.save` and `pickle`
/// emit for plain data: dicts, lists, tuples, numbers, strings, and torch tensors
/// (persistent ids + `torch._utils._rebuild_tensor_v2`). It never executes code.
public struct Unpickler {
    let b: [UInt8]
    var i = 0
    var stack: [PickleValue] = []
    /// Nesting depth of each stack entry (tuples and call arguments nest; dicts and lists count
    /// as 0 because breakCycles tears them down one by one). Swift releases a nested value
    /// recursively, so a pickle of 100,000 nested tuples would overflow the stack: refused.
    var depths: [Int] = []
    var marks: [Int] = []
    var memo: [Int: (PickleValue, Int)] = [:]
    static let maxDepth = 256
    /// Every dict and list made, so that `breakCycles` can free them: a hostile pickle can make
    /// a container hold itself (DUP + SETITEM, or a memoised list appended to itself), a
    /// reference cycle that Swift's reference counting would otherwise never release.
    var containers: [AnyObject] = []
    let name: String
    /// Guards against hostile inputs.
    static let maxStack = 1 << 22
    static let maxItems = 1 << 24

    public init(bytes: [UInt8], name: String) {
        b = bytes
        self.name = name
    }

    /// Empty every container this unpickler made (call when done with the loaded values).
    public mutating func breakCycles() {
        for c in containers {
            if let d = c as? PickleDict { d.items = [] } else if let l = c as? PickleList { l.items = [] }
        }
        containers = []
        memo = [:]
        stack = []
        depths = []
    }

    mutating func newDict() -> PickleDict {
        let d = PickleDict()
        containers.append(d)
        return d
    }

    mutating func newList() -> PickleList {
        let l = PickleList()
        containers.append(l)
        return l
    }

    mutating func fail(_ why: String) -> PickleError {
        PickleError(description: "\(name): cannot unpickle at byte \(i): \(why)")
    }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= b.count - i else { throw fail("truncated (wanted \(n) bytes)") }
        defer { i += n }
        return b[i..<(i + n)]
    }
    mutating func u8() throws -> Int { Int(try take(1).first!) }
    mutating func u16() throws -> Int { let s = try take(2); return Int(s[s.startIndex]) | Int(s[s.startIndex + 1]) << 8 }
    mutating func u32() throws -> Int {
        let s = try take(4)
        return (0..<4).reduce(0) { $0 | Int(s[s.startIndex + $1]) << (8 * $1) }
    }
    mutating func i32() throws -> Int64 { Int64(Int32(truncatingIfNeeded: try u32())) }
    mutating func u64() throws -> Int {
        let s = try take(8)
        let v = (0..<8).reduce(UInt64(0)) { $0 | UInt64(s[s.startIndex + $1]) << (8 * UInt64($1)) }
        guard v < UInt64(Int.max) else { throw fail("length too large") }
        return Int(v)
    }
    mutating func line() throws -> String {
        guard let end = b[i...].firstIndex(of: 0x0A) else { throw fail("unterminated line") }
        defer { i = end + 1 }
        return String(decoding: b[i..<end], as: UTF8.self)
    }
    mutating func pop() throws -> PickleValue { try popD().0 }
    mutating func popD() throws -> (PickleValue, Int) {
        guard let v = stack.popLast(), let d = depths.popLast() else { throw fail("stack underflow") }
        if let m = marks.last, stack.count < m { throw fail("stack underflow past a mark") }
        return (v, d)
    }
    mutating func popMark() throws -> [PickleValue] { try popMarkD().0 }
    /// the items since the last MARK and their largest depth
    mutating func popMarkD() throws -> ([PickleValue], Int) {
        guard let m = marks.popLast(), m <= stack.count else { throw fail("missing MARK") }
        let items = Array(stack[m...]), d = depths[m...].max() ?? 0
        stack.removeSubrange(m...)
        depths.removeSubrange(m...)
        return (items, d)
    }
    mutating func push(_ v: PickleValue, depth: Int = 0) throws {
        guard stack.count < Self.maxStack else { throw fail("stack too deep") }
        guard depth <= Self.maxDepth else { throw fail("values nested deeper than \(Self.maxDepth) levels") }
        stack.append(v)
        depths.append(depth)
    }
    static func littleInt(_ s: ArraySlice<UInt8>) -> Int64? {
        guard s.count <= 8 else { return nil }
        if s.isEmpty { return 0 }
        var v: UInt64 = 0
        for (k, byte) in s.enumerated() { v |= UInt64(byte) << (8 * UInt64(k)) }
        if s.count < 8, s.last! & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(s.count)) }
        return Int64(bitPattern: v)
    }

    public mutating func load() throws -> PickleValue {
        while true {
            let op = try u8()
            switch op {
            case 0x80: _ = try u8()  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x2E:  // STOP
                return try pop()
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: let (v, d) = try popD(); try push(v, depth: d); try push(v, depth: d)  // DUP
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(try i32()))  // BININT
            case 0x4B: try push(.int(Int64(try u8())))  // BININT1
            case 0x4D: try push(.int(Int64(try u16())))  // BININT2
            case 0x8A:  // LONG1
                let n = try u8()
                guard let v = Self.littleInt(try take(n)) else { throw fail("integer too large") }
                try push(.int(v))
            case 0x8B:  // LONG4
                let n = try u32()
                guard let v = Self.littleInt(try take(n)) else { throw fail("integer too large") }
                try push(.int(v))
            case 0x49:  // INT
                let s = try line()
                if s == "01" { try push(.bool(true)) } else if s == "00" { try push(.bool(false)) }
                else { guard let v = Int64(s) else { throw fail("bad INT") }; try push(.int(v)) }
            case 0x4C:  // LONG
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let v = Int64(s) else { throw fail("bad LONG") }
                try push(.int(v))
            case 0x47:  // BINFLOAT (big-endian)
                let s = try take(8)
                let bits = s.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                try push(.float(Double(bitPattern: bits)))
            case 0x46:  // FLOAT
                guard let v = Double(try line()) else { throw fail("bad FLOAT") }
                try push(.float(v))
            case 0x58: let n = try u32(); try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x8C: let n = try u8(); try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x8D: let n = try u64(); try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x54: let n = try u32(); try push(.string(String(decoding: try take(n), as: UTF8.self)))  // BINSTRING
            case 0x55: let n = try u8(); try push(.string(String(decoding: try take(n), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x42: let n = try u32(); try push(.bytes(Array(try take(n))))
            case 0x43: let n = try u8(); try push(.bytes(Array(try take(n))))
            case 0x8E: let n = try u64(); try push(.bytes(Array(try take(n))))
            case 0x7D: try push(.dict(newDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("odd DICT") }
                let d = newDict()
                for k in stride(from: 0, to: items.count, by: 2) { d.items.append((items[k], items[k + 1])) }
                try push(.dict(d))
            case 0x73:  // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d) = stack.last ?? .none else { throw fail("SETITEM on a non-dict") }
                d.items.append((k, v))
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("odd SETITEMS") }
                guard case .dict(let d) = stack.last ?? .none else { throw fail("SETITEMS on a non-dict") }
                guard d.items.count + items.count / 2 <= Self.maxItems else { throw fail("dict too large") }
                for k in stride(from: 0, to: items.count, by: 2) { d.items.append((items[k], items[k + 1])) }
            case 0x5D: try push(.list(newList()))  // EMPTY_LIST
            case 0x6C: let l = newList(); l.items = try popMark(); try push(.list(l))  // LIST
            case 0x61:  // APPEND
                let v = try pop()
                guard case .list(let l) = stack.last ?? .none else { throw fail("APPEND on a non-list") }
                l.items.append(v)
            case 0x65:  // APPENDS
                let items = try popMark()
                guard case .list(let l) = stack.last ?? .none else { throw fail("APPENDS on a non-list") }
                guard l.items.count + items.count <= Self.maxItems else { throw fail("list too large") }
                l.items += items
            case 0x29: try push(.tuple([]), depth: 1)
            case 0x74: let (t, d) = try popMarkD(); try push(.tuple(t), depth: d + 1)
            case 0x85: let (a, d) = try popD(); try push(.tuple([a]), depth: d + 1)
            case 0x86:
                let (b2, d2) = try popD(), (a, d1) = try popD()
                try push(.tuple([a, b2]), depth: max(d1, d2) + 1)
            case 0x87:
                let (c, d3) = try popD(), (b2, d2) = try popD(), (a, d1) = try popD()
                try push(.tuple([a, b2, c]), depth: max(d1, d2, d3) + 1)
            case 0x8F: try push(.list(newList()))  // EMPTY_SET (as a list)
            case 0x90:  // ADDITEMS
                let items = try popMark()
                guard case .list(let l) = stack.last ?? .none else { throw fail("ADDITEMS on a non-set") }
                l.items += items
            case 0x91: let l = newList(); l.items = try popMark(); try push(.list(l))  // FROZENSET
            case 0x63:  // GLOBAL
                let module = try line(), nm = try line()
                try push(.global(module: module, name: nm))
            case 0x93:  // STACK_GLOBAL
                let nm = try pop(), module = try pop()
                guard let m = module.asString, let n = nm.asString else { throw fail("bad STACK_GLOBAL") }
                try push(.global(module: m, name: n))
            case 0x52, 0x81:  // REDUCE, NEWOBJ
                let (args, d) = try popD(), callable = try pop()
                guard case .tuple(let a) = args else { throw fail("call arguments are not a tuple") }
                let r = try reduce(callable, a)
                switch r {
                case .dict, .list: try push(r)  // fresh containers
                default: try push(r, depth: d + 1)
                }
            case 0x62:  // BUILD: state is ignored (attributes such as _metadata)
                _ = try pop()
            case 0x51:  // BINPERSID
                let (pid, d) = try popD()
                try push(try persistent(pid), depth: d)
            case 0x50:  // PERSID
                try push(try persistent(.string(try line())))
            case 0x68: let k = try u8(); guard let v = memo[k] else { throw fail("BINGET \(k) unknown") }; try push(v.0, depth: v.1)
            case 0x6A: let k = try u32(); guard let v = memo[k] else { throw fail("LONG_BINGET \(k) unknown") }; try push(v.0, depth: v.1)
            case 0x67: guard let k = Int(try line()), let v = memo[k] else { throw fail("GET unknown") }; try push(v.0, depth: v.1)
            case 0x71: let k = try u8(); guard let v = stack.last, let d = depths.last else { throw fail("BINPUT on empty stack") }; memo[k] = (v, d)
            case 0x72: let k = try u32(); guard let v = stack.last, let d = depths.last else { throw fail("LONG_BINPUT on empty stack") }; memo[k] = (v, d)
            case 0x70: guard let k = Int(try line()), let v = stack.last, let d = depths.last else { throw fail("bad PUT") }; memo[k] = (v, d)
            case 0x94: guard let v = stack.last, let d = depths.last else { throw fail("MEMOIZE on empty stack") }; memo[memo.count] = (v, d)
            default:
                i -= 1
                throw fail(String(format: "unsupported pickle opcode 0x%02x", op))
            }
        }
    }

    mutating func persistent(_ pid: PickleValue) throws -> PickleValue {
        // ('storage', <class torch.FloatStorage>, key, location, numel)
        guard case .tuple(let t) = pid, t.count >= 5, t[0].asString == "storage",
            case .global(_, let type) = t[1], let key = t[2].asString, let n = t[4].asInt, n >= 0
        else { throw fail("unknown persistent id \(pid)") }
        return .storage(TorchStorageRef(type: type, key: key, count: Int(n)))
    }

    mutating func reduce(_ callable: PickleValue, _ a: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let nm) = callable else { throw fail("call of a non-global \(callable)") }
        switch (module, nm) {
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            guard a.count >= 4, case .storage(let s) = a[0], let off = a[1].asInt,
                case .tuple(let size) = a[2], case .tuple(let stride) = a[3]
            else { throw fail("malformed _rebuild_tensor_v2 arguments") }
            let shape = size.compactMap { $0.asInt.map(Int.init) }
            let strides = stride.compactMap { $0.asInt.map(Int.init) }
            guard shape.count == size.count, strides.count == shape.count, off >= 0, shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("malformed tensor shape")
            }
            return .tensor(TorchTensorRef(storage: s, offset: Int(off), shape: shape, stride: strides))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard let first = a.first else { throw fail("malformed _rebuild_parameter") }
            return first
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"):
            return .dict(newDict())
        case ("builtins", "list"), ("__builtin__", "list"):
            return .list(newList())
        default:
            return .object(callable: "\(module).\(nm)", args: a)
        }
    }
}
