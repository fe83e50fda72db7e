import Foundation

/// Header text that is not plain ASCII, as RFC 2047 encoded words (`=?utf-8?B?...?=`).
enum EncodedWords {
    /// Longest encoded word RFC 2047 allows.
    static let maximumWordLength = 75
    /// UTF-8 bytes per word: base64 of 45 bytes is 60 characters, + 12 for `=?utf-8?B?` and `?=`.
    static let bytesPerWord = 45

    /// Whether `text` may stand in a header as it is: printable ASCII and spaces only, nothing a
    /// decoder would take for an encoded word, and short enough for one line after `name: `.
    static func isPlain(_ text: String, headerName: String) -> Bool {
        guard headerName.utf8.count + 2 + text.utf8.count <= 78, !text.contains("=?") else { return false }
        return text.utf8.allSatisfy { $0 >= 32 && $0 <= 126 }
    }

    /// `text` as encoded words, each of whole characters (a word may not split one), joined by
    /// folding whitespace (CRLF SP), which decoders drop between encoded words.
    /// `firstLineUsed`: the characters before the first word on its line (`Subject: `), which
    /// make that word shorter so the line stays within 78.
    static func encode(_ text: String, firstLineUsed: Int = 0) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        // The encoded word's frame "=?utf-8?B?" + "?=" is 12 characters; base64 is 4 per 3 bytes.
        let firstWordBytes = max(3, min(bytesPerWord, (78 - firstLineUsed - 12) / 4 * 3))
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > (words.isEmpty ? firstWordBytes : bytesPerWord) {
                words.append(word(chunk))
                chunk.removeAll()
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append(word(chunk)) }
        return words.joined(separator: "\r\n ")
    }

    private static func word(_ bytes: [UInt8]) -> String {
        "=?utf-8?B?" + Data(bytes).base64EncodedString() + "?="
    }
}
