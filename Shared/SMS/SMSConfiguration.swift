import Foundation
import Platform

/// The SMS workload's settings (API.md's configuration table).
public struct SMSConfiguration: Sendable {
    /// At most `rateLimitCount` accepted messages per sender in any sliding `rateLimitWindow`.
    public var rateLimitCount: Int
    public var rateLimitWindow: Duration
    /// A repeat of the same from, to and text within this window of the first is a duplicate.
    public var dedupWindow: Duration
    public var mediaMaxBytes: Int

    public init(environment: EnvironmentReader) throws {
        let limit = environment.string("SMS_RATE_LIMIT", default: "5/60s")
        let parts = limit.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let count = Int(parts[0]), count > 0, let window = EnvironmentReader.parseDuration(String(parts[1])) else {
            throw ConfigurationError(variable: "SMS_RATE_LIMIT", problem: "expected COUNT/WINDOW such as 5/60s, got \"\(limit)\"")
        }
        rateLimitCount = count
        rateLimitWindow = window
        dedupWindow = try environment.duration("SMS_DEDUP_WINDOW", default: .seconds(2))
        mediaMaxBytes = try environment.int("MEDIA_MAX_BYTES", default: 5 * 1024 * 1024, in: 1...(1 << 30))
    }
}
