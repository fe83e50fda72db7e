import Foundation
@testable import SMS
import Testing

@Suite("SMS: numbering plan patterns")
struct NumberingPlanTests {
    @Test func everyCountryPatternCompiles() {
        let failing = NumberingPlan.countries.filter { DigitPattern($0.value.pattern) == nil }.keys.sorted()
        #expect(failing.isEmpty, "calling codes whose pattern DigitPattern cannot compile: \(failing)")
    }

    @Test func patternSyntax() throws {
        let pattern = try #require(DigitPattern(#"(?:[2-79]\d{2}|8(?:00|88))\d{3,4}5?"#))
        #expect(pattern.matches(Array("2123456".utf8)))
        #expect(pattern.matches(Array("88812345".utf8)))
        #expect(pattern.matches(Array("21234565".utf8)))    // the optional trailing 5
        #expect(!pattern.matches(Array("1123456".utf8)))   // 1 is not in [2-79]
        #expect(!pattern.matches(Array("8011234".utf8)))   // 8 must be followed by 00 or 88
        #expect(!pattern.matches(Array("21234".utf8)))     // too short
        #expect(!pattern.matches(Array("2123456789".utf8)))  // too long
        for unsupported in ["a", "\\d+", "(12)", "[]", "[3-1]", "1{3,2}", "(?:1", "\\w"] {
            #expect(DigitPattern(unsupported) == nil, "\(unsupported)")
        }
    }

    /// The compiled patterns answer as ICU's regular expressions do, for every country, on
    /// numbers of every allowed length whose first two digits run through all 100 pairs.
    @Test func agreesWithICUForEveryCountry() throws {
        var generator = SystemRandomNumberGenerator()
        var compared = 0, matched = 0
        for (code, country) in NumberingPlan.countries {
            let regex = try NSRegularExpression(pattern: "^(?:\(country.pattern))$")
            let compiled = try #require(DigitPattern(country.pattern))
            for length in country.lengths where length >= 2 {
                for prefix in 0..<100 {
                    let rest = (0..<(length - 2)).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) }
                    let number = String(format: "%02d", prefix) + String(rest)
                    let icu = regex.firstMatch(in: number, range: NSRange(number.startIndex..., in: number)) != nil
                    #expect(compiled.matches(Array(number.utf8)) == icu, "+\(code) \(number): ICU says \(icu)")
                    compared += 1
                    if icu { matched += 1 }
                }
            }
        }
        // Both answers occur often enough for the comparison to mean something.
        #expect(compared > 30_000 && matched > 5_000, "compared \(compared), matched \(matched)")
    }
}
