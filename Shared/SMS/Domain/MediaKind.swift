/// Images we accept, recognised by their bytes, never by the declared content type.
///
/// More than a magic number: each kind's fixed header must be well formed (PNG's first chunk
/// is a 13-byte IHDR with a non-zero size, GIF's screen descriptor has a non-zero size, a
/// WebP's RIFF length is the file's, and its first chunk is VP8, VP8L or VP8X; a JPEG's first
/// segment is a real marker) and the file must end the way the format ends (PNG's IEND
/// chunk, GIF's trailer, JPEG's EOI). Three bytes of `FF D8 FF` followed by a script, a
/// PNG signature glued to an HTML page, or a truncated upload are refused.
enum MediaKind: String, CaseIterable {
    case jpeg = "image/jpeg"
    case png = "image/png"
    case gif = "image/gif"
    case webp = "image/webp"

    static func detect(_ bytes: [UInt8]) -> MediaKind? {
        if isPNG(bytes) { return .png }
        if isJPEG(bytes) { return .jpeg }
        if isGIF(bytes) { return .gif }
        if isWebP(bytes) { return .webp }
        return nil
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The last chunk of every PNG: length 0, `IEND`, its fixed CRC.
    static let pngEnd: [UInt8] = [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]

    static func isPNG(_ bytes: [UInt8]) -> Bool {
        // Signature, IHDR (length 13, type, width, height, depth, colour, ...), ..., IEND.
        guard bytes.count >= 8 + 25 + 12, bytes.starts(with: pngSignature),
              bigEndian(bytes, at: 8) == 13, bytes[12..<16].elementsEqual(Array("IHDR".utf8)),
              bigEndian(bytes, at: 16) > 0, bigEndian(bytes, at: 20) > 0 else { return false }
        // IEND, with anything after it: some writers append data (the contract recognises images by
        // their leading bytes; the end is checked so that a bare signature is not an image).
        return contains(bytes, pngEnd, from: 33)
    }

    /// Whether `pattern` occurs in `bytes` at or after `start`, searching from the end (where
    /// end markers are).
    static func contains(_ bytes: [UInt8], _ pattern: [UInt8], from start: Int) -> Bool {
        guard bytes.count - start >= pattern.count else { return false }
        var position = bytes.count - pattern.count
        while position >= start {
            if bytes[position] == pattern[0], bytes[position..<(position + pattern.count)].elementsEqual(pattern) { return true }
            position -= 1
        }
        return false
    }

    static func isJPEG(_ bytes: [UInt8]) -> Bool {
        // SOI (FF D8), then a marker that may start a file (APPn, DQT, SOFn, DHT, COM...),
        // ..., EOI (FF D9).
        guard bytes.count >= 6, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF else { return false }
        let marker = bytes[3]
        guard (0xE0...0xEF).contains(marker) || (0xC0...0xCF).contains(marker) || marker == 0xDB || marker == 0xFE || marker == 0xDD else {
            return false
        }
        // EOI, with anything after it (phones append "motion photo" videos and padding).
        return contains(bytes, [0xFF, 0xD9], from: 4)
    }

    static func isGIF(_ bytes: [UInt8]) -> Bool {
        // "GIF87a" or "GIF89a", logical screen width and height (little-endian, non-zero), ..., trailer 0x3B.
        guard bytes.count >= 6 + 7 + 1,
              bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8)) else { return false }
        let width = Int(bytes[6]) | Int(bytes[7]) << 8, height = Int(bytes[8]) | Int(bytes[9]) << 8
        return width > 0 && height > 0 && bytes.last == 0x3B
    }

    static func isWebP(_ bytes: [UInt8]) -> Bool {
        // "RIFF", length of what follows (little-endian), "WEBP", first chunk "VP8 ", "VP8L" or "VP8X".
        guard bytes.count >= 12 + 8, bytes.starts(with: Array("RIFF".utf8)), bytes[8..<12].elementsEqual(Array("WEBP".utf8)) else { return false }
        let declared = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
        let chunk = String(decoding: bytes[12..<16], as: UTF8.self)
        return declared == bytes.count - 8 && ["VP8 ", "VP8L", "VP8X"].contains(chunk)
    }

    private static func bigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
