/// A libphonenumber national-number pattern, compiled for matching strings of digits.
///
/// The patterns use a small part of regular-expression syntax: digits, `\d`, classes such as
/// `[2-79]`, non-capturing groups `(?:...)`, alternation, and the quantifiers `{n}`, `{n,m}`
/// and `?`. Anything else makes ``init(_:)`` fail (a test compiles every pattern of the table).
///
/// Why not `NSRegularExpression`: on Linux it bridges each number to an `NSString` and runs
/// ICU, and two numbers per `POST /messages` made validation one of the largest costs of a
/// request. Here a match follows every possible position at once: numbers have at most 17
/// digits, so the set of positions reached is a bit mask and each step is a few integer ops.
struct DigitPattern: Sendable {
    /// The parse tree; `init` flattens it into `ops`.
    private indirect enum Node {
        /// One digit out of a set (bit d set: digit d allowed).
        case digit(UInt16)
        case sequence([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int)
    }

    /// A node of the tree, stored flat: matching walks plain integers, with none of the
    /// reference counting an indirect enum costs at every step (under POST /messages load,
    /// validating the two numbers took 3.4% of ingest's samples with the tree, 1.9% flat).
    private struct Op: Sendable {
        enum Kind: UInt8, Sendable { case digit, sequence, alternation, repetition }
        var kind: Kind
        /// `.digit`: the allowed digits.
        var allowed: UInt16 = 0
        /// `.sequence`, `.alternation`: `children[first ..< first + count]`; `.repetition`: `first` is the body.
        var first: Int32 = 0
        var count: Int32 = 0
        var min: Int32 = 0
        var max: Int32 = 0
    }

    private let ops: [Op]
    private let children: [Int32]
    private let root: Int32

    init?(_ pattern: String) {
        var parser = Parser(Array(pattern.utf8))
        guard let tree = parser.alternation(), parser.atEnd else { return nil }
        var ops: [Op] = []
        var children: [Int32] = []
        func flatten(_ node: Node) -> Int32 {
            func list(_ kind: Op.Kind, _ parts: [Node]) -> Op {
                let indices = parts.map(flatten)
                defer { children.append(contentsOf: indices) }
                return Op(kind: kind, first: Int32(children.count), count: Int32(indices.count))
            }
            let op: Op
            switch node {
            case .digit(let allowed):
                op = Op(kind: .digit, allowed: allowed)
            case .sequence(let parts):
                op = list(.sequence, parts)
            case .alternation(let parts):
                op = list(.alternation, parts)
            case .repetition(let body, let min, let max):
                op = Op(kind: .repetition, first: flatten(body), min: Int32(min), max: Int32(max))
            }
            ops.append(op)
            return Int32(ops.count - 1)
        }
        root = flatten(tree)
        self.ops = ops
        self.children = children
    }

    /// True when the whole of `digits` (ASCII `0`...`9`) matches.
    func matches(_ digits: some Collection<UInt8>) -> Bool {
        guard digits.count < 32 else { return false }
        // positionsOf[d]: bit i set when the i-th character is digit d.
        var positionsOf: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &positionsOf) { raw in
            let positions = raw.bindMemory(to: UInt32.self)
            for (index, byte) in digits.enumerated() {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return false }
                positions[Int(byte - UInt8(ascii: "0"))] |= 1 << UInt32(index)
            }
            return ops.withUnsafeBufferPointer { ops in
                children.withUnsafeBufferPointer { children in
                    let matcher = Matcher(ops: ops, children: children, positionsOf: UnsafeBufferPointer(positions))
                    return matcher.advance(root, from: 1) & (1 << UInt32(digits.count)) != 0
                }
            }
        }
    }

    private struct Matcher {
        let ops: UnsafeBufferPointer<Op>
        let children: UnsafeBufferPointer<Int32>
        let positionsOf: UnsafeBufferPointer<UInt32>

        /// Bit i of `positions`: the match may stand just before character i. Returns where it
        /// may stand after op `index`.
        func advance(_ index: Int32, from positions: UInt32) -> UInt32 {
            let op = ops[Int(index)]
            switch op.kind {
            case .digit:
                var matching: UInt32 = 0
                for digit in 0..<10 where op.allowed & (1 << digit) != 0 { matching |= positionsOf[digit] }
                return (positions & matching) << 1
            case .sequence:
                var current = positions
                for child in op.first..<op.first + op.count where current != 0 {
                    current = advance(children[Int(child)], from: current)
                }
                return current
            case .alternation:
                var reached: UInt32 = 0
                for child in op.first..<op.first + op.count { reached |= advance(children[Int(child)], from: positions) }
                return reached
            case .repetition:
                var current = positions
                for _ in 0..<op.min { current = advance(op.first, from: current) }
                var reached = current
                var times = op.min
                while times < op.max, current != 0 {
                    current = advance(op.first, from: current)
                    reached |= current
                    times += 1
                }
                return reached
            }
        }
    }

    /// Recursive descent over the pattern's bytes; every method returns nil on syntax it does not know.
    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }
        var next: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func take(_ byte: Character) -> Bool {
            guard next == byte.asciiValue else { return false }
            index += 1
            return true
        }

        mutating func alternation() -> Node? {
            var choices: [Node] = []
            repeat {
                guard let choice = sequence() else { return nil }
                choices.append(choice)
            } while take("|")
            return choices.count == 1 ? choices[0] : .alternation(choices)
        }

        mutating func sequence() -> Node? {
            var parts: [Node] = []
            while let byte = next, byte != UInt8(ascii: "|"), byte != UInt8(ascii: ")") {
                guard let part = quantified() else { return nil }
                parts.append(part)
            }
            return parts.count == 1 ? parts[0] : .sequence(parts)
        }

        mutating func quantified() -> Node? {
            guard let atom = atom() else { return nil }
            if take("?") { return .repetition(atom, min: 0, max: 1) }
            guard take("{") else { return atom }
            guard let min = number() else { return nil }
            let max = take(",") ? number() : min
            guard let max, max >= min, take("}") else { return nil }
            return .repetition(atom, min: min, max: max)
        }

        mutating func atom() -> Node? {
            if take("(") {
                guard take("?"), take(":"), let group = alternation(), take(")") else { return nil }
                return group
            }
            if take("[") { return digitClass() }
            if take("\\") { return take("d") ? .digit(0x3FF) : nil }
            guard let digit = digitValue() else { return nil }
            return .digit(1 << digit)
        }

        /// The inside of `[...]`: digits and ranges such as `2-79`.
        mutating func digitClass() -> Node? {
            var allowed: UInt16 = 0
            while !take("]") {
                guard let low = digitValue() else { return nil }
                var high = low
                if take("-") {
                    guard let end = digitValue(), end >= low else { return nil }
                    high = end
                }
                for digit in low...high { allowed |= 1 << digit }
            }
            return allowed == 0 ? nil : .digit(allowed)
        }

        mutating func digitValue() -> UInt16? {
            guard let byte = next, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            index += 1
            return UInt16(byte - UInt8(ascii: "0"))
        }

        mutating func number() -> Int? {
            var value: Int?
            while let digit = digitValue() { value = (value ?? 0) * 10 + Int(digit) }
            return value
        }
    }
}
