import Crypto

/// A Lua script run atomically on the server. Sent by `EVALSHA` with its SHA-1 (the name
/// Redis caches scripts under); when the server answers `NOSCRIPT` (first use, a restart,
/// `SCRIPT FLUSH`) the client falls back to `EVAL`, which loads it again.
public struct RedisScript: Sendable {
    public let source: String
    let sha1: String

    public init(_ source: String) {
        self.source = source
        sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
