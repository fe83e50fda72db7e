/// A Lua script run atomically on the server. Sent by `EVALSHA` once loaded; when the server
/// answers `NOSCRIPT` (it restarted, or `SCRIPT FLUSH` ran) the client falls back to `EVAL`,
/// which loads it again.
public struct RedisScript: Sendable {
    public let source: String
    public init(_ source: String) { self.source = source }
}
