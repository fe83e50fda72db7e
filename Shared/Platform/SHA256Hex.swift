import Crypto

/// Lower-case hex SHA-256: names of content-addressed media, dedup fingerprints, ETags.
public enum SHA256Hex {
    public static func of(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Lower-case hex of any bytes (a digest, a MAC).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        // Built from a table rather than `String(_:radix:)` per byte: this runs on every
        // `POST /messages` (the duplicate-window fingerprint).
        var hex = [UInt8]()
        hex.reserveCapacity(SHA256.byteCount * 2)
        for byte in bytes {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    private static let digits = Array("0123456789abcdef".utf8)
}
