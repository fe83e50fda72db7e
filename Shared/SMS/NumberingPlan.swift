import Foundation

/// E.164 validation against the world's numbering plans: `+`, a country calling code that
/// exists, and a national number of a length and shape valid for that country. The table is
/// generated from libphonenumber (scripts/generate_numbering_plan.py), never typed by hand.
public enum NumberingPlan {
    struct Country: Sendable {
        let lengths: Set<Int>
        let pattern: String
    }

    /// Compiled patterns, built on first use of each calling code.
    private static let compiled = PatternCache()

    /// Returns the number in canonical form (`+` and digits), or nil when it is not a valid
    /// E.164 number. Surrounding white space is ignored.
    public static func canonicalize(_ input: String) -> String? {
        let text = input.trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "+") else { return nil }
        let digits = bytes.dropFirst()
        guard (2...15).contains(digits.count), digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              digits.first != UInt8(ascii: "0") else { return nil }
        // Calling codes are prefix-free, so at most one of the 1-, 2- and 3-digit prefixes exists.
        var code = 0
        for length in 1...3 where digits.count > length {
            code = code * 10 + Int(digits[length] - UInt8(ascii: "0"))
            guard let country = countries[code] else { continue }
            let national = String(decoding: digits.dropFirst(length), as: UTF8.self)
            guard country.lengths.contains(national.count), compiled.matches(national, code: code, pattern: country.pattern) else { return nil }
            return text
        }
        return nil
    }
}

private final class PatternCache: @unchecked Sendable {
    // @unchecked: every access holds `lock`; NSRegularExpression itself is thread-safe.
    private let lock = NSLock()
    private var expressions: [Int: NSRegularExpression] = [:]

    func matches(_ national: String, code: Int, pattern: String) -> Bool {
        let expression: NSRegularExpression? = lock.withLock {
            if let cached = expressions[code] { return cached }
            let built = try? NSRegularExpression(pattern: "^(?:\(pattern))$")
            expressions[code] = built
            return built
        }
        guard let expression else { return true }  // a pattern ICU cannot compile: fall back to lengths
        return expression.firstMatch(in: national, range: NSRange(national.startIndex..., in: national)) != nil
    }
}
