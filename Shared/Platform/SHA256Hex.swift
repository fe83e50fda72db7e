import Crypto

/// Lower-case hex SHA-256: names of content-addressed media, dedup fingerprints, ETags.
public enum SHA256Hex {
    public static func of(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}
