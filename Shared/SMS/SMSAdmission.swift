import Foundation
import Platform
import Redis

/// The two Redis-side checks of `POST /messages`, applied in one atomic Lua script so that
/// any number of ingest replicas enforce exactly one duplicate window and one rate limit:
///
/// 1. the same (from, to, text) within the dedup window of the first is a duplicate (and
///    uses no quota);
/// 2. at most N accepted messages per sender in any sliding window: the sender's key holds
///    the accept times (ms) still inside the window as one short string, "t1 t2 ...".
///
/// The string makes an accepted message four commands inside the script (dedup, read and
/// write the times, the copy) where a sorted set took eight; Redis spent ~22 us of CPU on the
/// script instead of ~28 (redis-benchmark, EVALSHA pipelined x16). The list is at most N
/// entries long, so this suits limits of tens per window; limits in the thousands would want
/// the sorted set back.
///
/// An accepted message also leaves its `received` copy in Redis, so `GET /messages/:id`
/// finds it before storage has written it (storage deletes it after its commit; the TTL is
/// the safety net). When the publish that follows fails, `release` gives the quota and the
/// duplicate slot back.
public struct SMSAdmission: Sendable {
    public enum Decision: Sendable, Equatable {
        case accepted(RateLimitState)
        case duplicate(of: UUID, RateLimitState)
        case limited(RateLimitState)
    }

    public struct RateLimitState: Sendable, Equatable {
        public var limit: Int
        public var remaining: Int
        /// Milliseconds until the oldest counted message leaves the window.
        public var resetMilliseconds: Int
        public var resetSeconds: Int { max(1, (resetMilliseconds + 999) / 1000) }
    }

    let redis: RedisClient
    let configuration: SMSConfiguration
    static let pendingTTLMilliseconds = 3_600_000

    public init(redis: RedisClient, configuration: SMSConfiguration) {
        self.redis = redis
        self.configuration = configuration
    }

    static let admit = RedisScript("""
        -- KEYS: dedup, rate (the sender's accept times, "ms ms ..."), pending copy
        -- ARGV: now ms, window ms, limit, dedup ms, id, pending json, pending ttl ms
        local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        local recent, oldest = {}, now
        for stamp in string.gmatch(redis.call('GET', KEYS[2]) or '', '%d+') do
          local at = tonumber(stamp)
          if at > now - window then
            recent[#recent + 1] = stamp
            if at < oldest then oldest = at end
          end
        end
        local existing = redis.call('SET', KEYS[1], ARGV[5], 'NX', 'GET', 'PX', ARGV[4])
        if existing then return {'duplicate', existing, #recent, oldest + window - now} end
        if #recent >= limit then
          redis.call('DEL', KEYS[1])
          return {'limited', '', #recent, oldest + window - now}
        end
        recent[#recent + 1] = ARGV[1]
        redis.call('SET', KEYS[2], table.concat(recent, ' '), 'PX', window)
        redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[7])
        return {'accepted', ARGV[5], #recent, oldest + window - now}
        """)

    static let release = RedisScript("""
        -- KEYS: as admit; ARGV: id, the accept time admit recorded
        local kept, found = {}, false
        for stamp in string.gmatch(redis.call('GET', KEYS[2]) or '', '%d+') do
          if not found and stamp == ARGV[2] then found = true else kept[#kept + 1] = stamp end
        end
        if #kept == 0 then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], table.concat(kept, ' '), 'KEEPTTL') end
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        redis.call('DEL', KEYS[3])
        return 1
        """)

    /// `view` is the message object as JSON, kept as the `received` copy when accepted.
    public func admit(_ message: AcceptedSMS, view pending: [UInt8]) async throws -> Decision {
        let reply = try await redis.evaluate(Self.admit, keys: keys(for: message), arguments: [
            message.receivedAt.millisecondsSince1970, configuration.rateLimitWindow.milliseconds, configuration.rateLimitCount,
            configuration.dedupWindow.milliseconds, message.id.uuidString.lowercased(), pending, Self.pendingTTLMilliseconds,
        ])
        guard let parts = reply.array, parts.count == 4, let verdict = parts[0].string, let count = parts[2].int, let reset = parts[3].int else {
            throw RedisError(.unexpectedReply, "admission script answered \(reply)")
        }
        let state = RateLimitState(limit: configuration.rateLimitCount, remaining: max(0, configuration.rateLimitCount - count),
                                   resetMilliseconds: reset)
        switch verdict {
        case "accepted": return .accepted(state)
        case "duplicate":
            guard let id = parts[1].string.flatMap(UUID.init(uuidString:)) else { throw RedisError(.unexpectedReply, "bad duplicate id") }
            return .duplicate(of: id, state)
        default: return .limited(state)
        }
    }

    public func release(_ message: AcceptedSMS) async throws {
        _ = try await redis.evaluate(Self.release, keys: keys(for: message),
                                   arguments: [message.id.uuidString.lowercased(), message.receivedAt.millisecondsSince1970])
    }

    /// The `received` copy left by `admit`, for reads that come before storage.
    public func pendingMessage(_ id: UUID) async throws -> SMSMessageView? {
        guard let bytes = try await redis.send("GET", Self.pendingKey(id)).bytes else { return nil }
        return try? JSONDecoder.rfc3339.decode(SMSMessageView.self, from: Data(bytes))
    }

    /// Deletes the `received` copies of messages that are now in the database.
    public static func forgetPending(_ ids: [UUID], redis: RedisClient) async throws {
        guard !ids.isEmpty else { return }
        try await redis.send(["DEL"] + ids.map(pendingKey))
    }

    func keys(for message: AcceptedSMS) -> [any RedisArgument] {
        let fingerprint = SHA256Hex.of(Array("\(message.from)\n\(message.to)\n\(message.message)".utf8))
        return ["sms:dedup:\(fingerprint)", "sms:rate:\(message.from)", Self.pendingKey(message.id)]
    }

    static func pendingKey(_ id: UUID) -> String { "sms:pending:\(id.uuidString.lowercased())" }
}

extension Date {
    /// The accept time the rate limit records; `release` finds the entry by it. Accept times
    /// are whole milliseconds, which `* 1000` can land a hair below: round to the nearest.
    var millisecondsSince1970: Int { Int((timeIntervalSince1970 * 1000).rounded()) }
}

extension JSONDecoder {
    /// Reads what ``JSONEnvelope/encoder`` writes.
    static let rfc3339: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad date \(text)"))
            }
            return date
        }
        return decoder
    }()
}
