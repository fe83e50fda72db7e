/// Quoted-printable (RFC 2045 §6.7) for a plain-text body: any UTF-8 text travels as 7-bit
/// lines of at most 76 characters, whatever the servers on the way accept (no 8BITMIME needed).
enum QuotedPrintable {
    static let maximumLineLength = 76

    /// `text` encoded, lines ending in CRLF. Line ends of any kind in `text` (CRLF, LF, CR) are
    /// real line breaks; longer lines get soft breaks (`=` at the end). A line may start with
    /// `.`: libcurl dot-stuffs the DATA section (the tests check it).
    static func encode(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        for line in lines(of: text) {
            encodeLine(line, into: &output)
            output += [13, 10]
        }
        return output
    }

    private static func lines(of text: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(text.utf8)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case 13:
                lines.append(bytes[start..<index])
                index += index + 1 < bytes.count && bytes[index + 1] == 10 ? 2 : 1
                start = index
            case 10:
                lines.append(bytes[start..<index])
                index += 1
                start = index
            default:
                index += 1
            }
        }
        if start < bytes.count || lines.isEmpty { lines.append(bytes[start..<bytes.count]) }
        return lines
    }

    private static func encodeLine(_ line: ArraySlice<UInt8>, into output: inout [UInt8]) {
        var column = 0
        for (offset, byte) in zip(line.indices, line) {
            let isLast = offset == line.index(before: line.endIndex)
            // Literal: printable ASCII but `=`; space and tab too, except at the end of a line,
            // where a transport may strip them.
            let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !isLast)
            let width = literal ? 1 : 3
            // Room for the token plus the `=` of a soft break, unless this is the line's last.
            let limit = isLast ? maximumLineLength : maximumLineLength - 1
            if column + width > limit {
                output += [UInt8(ascii: "="), 13, 10]
                column = 0
            }
            if literal {
                output.append(byte)
            } else {
                output += [UInt8(ascii: "="), hexDigit(byte >> 4), hexDigit(byte & 0x0F)]
            }
            column += width
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }
}
