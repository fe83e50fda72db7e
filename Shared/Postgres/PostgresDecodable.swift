import Foundation

/// A Swift type that a column's text representation decodes into. Results arrive in
/// PostgreSQL's text format (the connection sets `TimeZone=UTC` and ISO dates).
public protocol PostgresDecodable: Sendable {
    init?(postgresText text: String)
}

extension String: PostgresDecodable {
    public init?(postgresText text: String) { self = text }
}
extension Int: PostgresDecodable {
    public init?(postgresText text: String) { self.init(text) }
}
extension Int64: PostgresDecodable {
    public init?(postgresText text: String) { self.init(text) }
}
extension Int32: PostgresDecodable {
    public init?(postgresText text: String) { self.init(text) }
}
extension Double: PostgresDecodable {
    public init?(postgresText text: String) { self.init(text) }
}
extension Bool: PostgresDecodable {
    public init?(postgresText text: String) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}
extension UUID: PostgresDecodable {
    public init?(postgresText text: String) { self.init(uuidString: text) }
}
extension Date: PostgresDecodable {
    public init?(postgresText text: String) {
        guard let date = PostgresTimestamp.parse(text) else { return nil }
        self = date
    }
}
extension Data: PostgresDecodable {
    /// bytea in the default `hex` output format: `\x` followed by two hex digits a byte.
    public init?(postgresText text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Timestamps as PostgreSQL writes them with `DateStyle=ISO` and `TimeZone=UTC`:
/// `2026-11-22 03:07:12.123456+00`. Parsed by hand because it is on every row's hot path.
public enum PostgresTimestamp {
    /// `2026-11-22T03:07:12.123456Z`: microseconds, as PostgreSQL stores them.
    public static func format(_ date: Date) -> String {
        format(date, fractionDigits: 6)
    }

    /// RFC 3339 in UTC with `fractionDigits` digits of the second (truncated, never rounded up,
    /// so a value never moves into the next second or minute). Formatted by hand: Foundation's
    /// ISO 8601 style was seen to drift by milliseconds through a format/parse round trip.
    public static func format(_ date: Date, fractionDigits: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        write(date, fractionDigits: fractionDigits, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ``format(_:fractionDigits:)`` appended to a byte buffer (what JSON writers on hot paths use).
    public static func write(_ date: Date, fractionDigits: Int, into bytes: inout [UInt8]) {
        let scale = Int64([1, 10, 100, 1_000, 10_000, 100_000, 1_000_000][fractionDigits])
        let ticks = Int64((date.timeIntervalSince1970 * Double(scale)).rounded(.down))
        let seconds = ticks >= 0 ? ticks / scale : (ticks - scale + 1) / scale
        let fraction = ticks - seconds * scale
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        func digits(_ value: Int, _ width: Int) {  // zero-padded to exactly `width` digits
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(year, 4); bytes.append(UInt8(ascii: "-")); digits(month, 2); bytes.append(UInt8(ascii: "-")); digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2); bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2); bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        if fractionDigits > 0 {
            bytes.append(UInt8(ascii: "."))
            digits(Int(fraction), fractionDigits)
        }
        bytes.append(UInt8(ascii: "Z"))
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 19 else { return nil }
        func number(_ from: Int, _ length: Int) -> Int? {
            var value = 0
            for i in from..<(from + length) {
                let d = Int(b[i]) - 48
                guard d >= 0, d <= 9 else { return nil }
                value = value * 10 + d
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                fraction += Double(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < b.count, b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            let sign = b[index] == UInt8(ascii: "-") ? -1 : 1
            let hours = number(index + 1, 2) ?? 0
            let minutes = (index + 5 < b.count && b[index + 3] == UInt8(ascii: ":")) ? (number(index + 4, 2) ?? 0) : 0
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
