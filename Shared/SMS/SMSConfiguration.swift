import Foundation
import Platform

/// The SMS workload's settings (the README's configuration table).
public struct SMSConfiguration: Sendable {
    /// At most `rateLimitCount` accepted messages per sender in any sliding `rateLimitWindow`.
    public var rateLimitCount: Int
    public var rateLimitWindow: Duration
    /// At most `clientRateLimitCount` accepted messages per client (the authenticated caller,
    /// else its address) in any sliding `clientRateLimitWindow`, whatever senders it names:
    /// `from` is the client's to choose, so the per-sender limit alone stops nobody.
    public var clientRateLimitCount: Int
    public var clientRateLimitWindow: Duration
    /// A repeat of the same from, to and text within this window of the first is a duplicate.
    public var dedupWindow: Duration
    public var mediaMaxBytes: Int
    /// At most this many attachments (`SMS_MEDIA_PER_MESSAGE`) and bytes of them
    /// (`SMS_MEDIA_BYTES_PER_MESSAGE`) on one message: attaching is public, so without a cap
    /// anyone could pile any amount of storage onto any message id they learn.
    public var mediaPerMessage: Int
    public var mediaBytesPerMessage: Int
    /// Uploads per client (``ClientIdentity``) in a sliding window (`SMS_MEDIA_CLIENT_RATE_LIMIT`).
    public var mediaClientRateLimitCount: Int
    public var mediaClientRateLimitWindow: Duration
    /// The deepest `offset` `GET /messages` takes (`SMS_LIST_MAX_OFFSET`): a deep OFFSET reads
    /// and throws away every row before it, so an unbounded one lets any client keep the
    /// database busy with one cheap request.
    public var listMaxOffset: Int
    /// ingest's own connections for list misses (`SMS_LIST_POOL_SIZE`) and the longest one list
    /// query may run (`SMS_LIST_STATEMENT_TIMEOUT`; then 503 with `Retry-After`).
    public var listPoolSize: Int
    public var listStatementTimeout: Duration

    public init(environment: EnvironmentReader) throws {
        (rateLimitCount, rateLimitWindow) = try Self.rateLimit("SMS_RATE_LIMIT", default: "5/60s", in: environment)
        (clientRateLimitCount, clientRateLimitWindow) = try Self.rateLimit("SMS_CLIENT_RATE_LIMIT", default: "100/60s", in: environment)
        dedupWindow = try environment.duration("SMS_DEDUP_WINDOW", default: .seconds(2))
        mediaMaxBytes = try environment.int("MEDIA_MAX_BYTES", default: 5 * 1024 * 1024, in: 1...(1 << 30))
        mediaPerMessage = try environment.int("SMS_MEDIA_PER_MESSAGE", default: 10, in: 1...1_000)
        mediaBytesPerMessage = try environment.int("SMS_MEDIA_BYTES_PER_MESSAGE", default: max(20 * 1024 * 1024, mediaMaxBytes),
                                                   in: mediaMaxBytes...(1 << 40))
        (mediaClientRateLimitCount, mediaClientRateLimitWindow) = try Self.rateLimit("SMS_MEDIA_CLIENT_RATE_LIMIT", default: "30/60s", in: environment)
        listMaxOffset = try environment.int("SMS_LIST_MAX_OFFSET", default: 10_000, in: 0...1_000_000)
        listPoolSize = try environment.int("SMS_LIST_POOL_SIZE", default: 4, in: 1...64)
        listStatementTimeout = try environment.duration("SMS_LIST_STATEMENT_TIMEOUT", default: .seconds(2))
    }

    /// `COUNT/WINDOW`, such as `5/60s`.
    static func rateLimit(_ variable: String, default fallback: String, in environment: EnvironmentReader) throws -> (Int, Duration) {
        let limit = environment.string(variable, default: fallback)
        let parts = limit.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let count = Int(parts[0]), count > 0, let window = EnvironmentReader.parseDuration(String(parts[1])),
              window > .zero else {
            throw ConfigurationError(variable: variable, problem: "expected COUNT/WINDOW such as \(fallback), got \"\(limit)\"")
        }
        return (count, window)
    }
}
