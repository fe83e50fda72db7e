import Foundation
import Platform
import Redis

/// The Redis-side checks of `POST /messages`, applied in one atomic Lua script so that
/// any number of ingest replicas enforce exactly one duplicate window and one rate limit:
///
/// 1. the same (from, to, text) within the dedup window of the first is a duplicate (and
///    uses no quota);
/// 2. at most M accepted messages per client (``ClientIdentity``: the authenticated caller,
///    else its address) in a sliding window, checked first: `from` is the client's choice,
///    so without it one client could send any number of messages under made-up senders. Its
///    limit is generous (100 a minute), so it is counted in two fixed windows, the earlier
///    weighted by its overlap with the sliding one (constant work for any limit);
/// 3. at most N accepted messages per sender in any sliding window: the sender's key holds
///    the accept times (ms) still inside the window as one short string, "t1 t2 ...".
///
/// The string makes an accepted message four commands inside the script (dedup, read and
/// write the times, the copy) where a sorted set took eight; Redis spent ~22 us of CPU on the
/// script instead of ~28 (redis-benchmark, EVALSHA pipelined x16). The list is at most N
/// entries long, so this suits limits of tens per window; limits in the thousands would want
/// the sorted set back.
///
/// The duplicate slot names the first message and says whether the broker has it:
/// `pending:<id>` from the admission until the publish is confirmed, then `confirmed:<id>`
/// (``confirm(_:)``, which flips only a slot that still holds that id). Only a confirmed id
/// may be answered as "the first message": a pending one may yet fail to publish (then
/// `release` deletes the slot) or may never be published at all (the script ran but its
/// reply was lost, so ingest answered an error). A pending slot lives as long as a publish can
/// still be confirmed (the publish deadline and a second, or the window, if shorter): were it
/// to expire sooner, a resend during a slow publish would be admitted as a second message.
/// An id nobody will confirm therefore holds resends back that long, each answered 503
/// `duplicate_pending`. `confirm` gives the slot the rest of the window, still measured from
/// the first message's accept time.
///
/// A publish that timed out may still reach the broker (it was sent; the confirm never came),
/// even long after, when a blocked broker reads what waited in its socket. Ingest then holds
/// the slot pending for the rest of the window, at most ``inDoubtHold`` (``holdInDoubt(_:now:)``,
/// which also takes back a slot that expired just before the timeout was heard),
/// instead of releasing it, and storage, when it stores a message whose slot is still pending,
/// flips it to confirmed (``settleStored(_:window:redis:now:)``): a resend in the meantime is answered
/// 503, then 200 naming the message that exists, never admitted as a second copy. Past the
/// hold, a resend is admitted: a message the broker took more than a minute to accept may then
/// exist twice.
///
/// An accepted message also leaves its `received` copy in Redis, so `GET /messages/:id`
/// finds it before storage has written it (storage deletes it after its commit; the TTL is
/// the safety net). When the publish that follows fails, `release` gives the quota and the
/// duplicate slot back.
public struct SMSAdmission: Sendable {
    public enum Decision: Sendable, Equatable {
        case accepted(RateLimitState)
        /// The same message within the window; `slot` names the first and says whether it is confirmed.
        case duplicate(Slot, RateLimitState)
        case limited(RateLimitState)
    }

    /// What a duplicate slot holds: the first message's id, and whether the broker confirmed it.
    public struct Slot: Sendable, Equatable {
        public var id: UUID
        public var confirmed: Bool

        public init(id: UUID, confirmed: Bool) {
            self.id = id
            self.confirmed = confirmed
        }

        /// `pending:<id>` or `confirmed:<id>`; anything else (a bare id written by an older
        /// ingest during a rolling update) is nil, which callers treat as pending.
        init?(_ value: String) {
            if value.hasPrefix("confirmed:"), let id = UUID(uuidString: String(value.dropFirst("confirmed:".count))) {
                self.init(id: id, confirmed: true)
            } else if value.hasPrefix("pending:"), let id = UUID(uuidString: String(value.dropFirst("pending:".count))) {
                self.init(id: id, confirmed: false)
            } else {
                return nil
            }
        }

        static func value(_ id: UUID, confirmed: Bool) -> String {
            (confirmed ? "confirmed:" : "pending:") + id.uuidString.lowercased()
        }
    }

    /// What a duplicate found when it looked at the slot again (``awaitSlot(of:until:)``).
    public enum SlotOutcome: Sendable, Equatable {
        /// The first message is durable: answer it.
        case confirmed(UUID)
        /// The slot is empty (released after a failed publish, or a pending slot expired):
        /// nothing within the window exists, so this request may be admitted as new.
        case empty
        /// Still unconfirmed at the deadline.
        case pending
    }

    public struct RateLimitState: Sendable, Equatable {
        public var limit: Int
        public var remaining: Int
        /// Milliseconds until the oldest counted message leaves the window.
        public var resetMilliseconds: Int
        /// Whose limit this is: the sender's (`from`) or the client's (``ClientIdentity``).
        public var scope: Scope = .sender
        public enum Scope: Sendable, Equatable { case sender, client }
        public var resetSeconds: Int { max(1, (resetMilliseconds + 999) / 1000) }
    }

    let redis: RedisClient
    let configuration: SMSConfiguration
    /// The longest a slot stays `pending`: the longest a publish can take to be confirmed
    /// (see the type's comment), so that no resend is admitted while the first may still land.
    let pendingSlotCap: Duration
    static let pendingTTLMilliseconds = 3_600_000
    /// How long a slot stays pending after its publish timed out (see the type's comment).
    static let inDoubtHold = Duration.seconds(60)

    /// `pendingSlotCap`: the publish deadline plus a margin (ingest passes its bus's).
    public init(redis: RedisClient, configuration: SMSConfiguration, pendingSlotCap: Duration) {
        self.redis = redis
        self.configuration = configuration
        self.pendingSlotCap = pendingSlotCap
    }

    /// How long a `pending` slot lives: the window, at most `pendingSlotCap`.
    var pendingSlotMilliseconds: Int { min(configuration.dedupWindow.milliseconds, pendingSlotCap.milliseconds) }

    static let admit = RedisScript("""
        -- KEYS: dedup, rate (the sender's accept times, "ms ms ..."), pending copy, client
        --       ("<window start ms> <count> <count of the window before>")
        -- ARGV: now ms, window ms, limit, pending slot ms, id, pending json, pending ttl ms,
        --       client window ms, client limit (0: no client limit)
        -- The client's limit comes first: it is the one a client cannot sidestep by naming
        -- another sender. A duplicate uses neither quota.
        \(ClientRateLimiter.slidingWindowLua)
        local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        local clientWidth, clientLimit = tonumber(ARGV[8]), tonumber(ARGV[9])
        local recent, oldest = {}, now
        for stamp in string.gmatch(redis.call('GET', KEYS[2]) or '', '%d+') do
          local at = tonumber(stamp)
          if at > now - window then
            recent[#recent + 1] = stamp
            if at < oldest then oldest = at end
          end
        end
        local reset = oldest + window - now
        -- The client's count slides too, estimated from two fixed windows (ClientRateLimiter's
        -- client_window): constant work however high the limit, where a list of times would
        -- grow with it.
        local start, count, previous, used, clientReset = 0, 0, 0, 0, 0
        if clientLimit > 0 then
          start, count, previous, used, clientReset = client_window(KEYS[4], now, clientWidth, clientLimit)
        end
        local existing = redis.call('SET', KEYS[1], 'pending:' .. ARGV[5], 'NX', 'GET', 'PX', ARGV[4])
        if existing then return {'duplicate', existing, #recent, reset, used, clientReset} end
        if clientLimit > 0 and used >= clientLimit then
          redis.call('DEL', KEYS[1])
          return {'limited_client', '', #recent, reset, used, clientReset}
        end
        if #recent >= limit then
          redis.call('DEL', KEYS[1])
          return {'limited', '', #recent, reset, used, clientReset}
        end
        recent[#recent + 1] = ARGV[1]
        redis.call('SET', KEYS[2], table.concat(recent, ' '), 'PX', window)
        if clientLimit > 0 then
          client_window_take(KEYS[4], start, count, previous, clientWidth)
          used = used + 1
        end
        redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[7])
        return {'accepted', ARGV[5], #recent, reset, used, clientReset}
        """)

    /// Also how a slot is held after a publish timed out (``holdInDoubt(_:now:)``): the same
    /// script, writing `pending:<id>` back with a new lifetime.
    static let confirm = RedisScript("""
        -- KEYS: dedup; ARGV: 'pending:<id>', the new value, ms for it to live
        -- Writes the slot only while it is this message's (or empty: a pending slot that
        -- expired during a slow publish, or just before its timeout was heard); another
        -- message's slot is left alone.
        local held = redis.call('GET', KEYS[1])
        if held == ARGV[1] or not held then
          redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
          return 1
        end
        return 0
        """)

    static let release = RedisScript("""
        -- KEYS: as admit; ARGV: 'pending:<id>', the accept time admit recorded, client window ms
        local kept, found = {}, false
        for stamp in string.gmatch(redis.call('GET', KEYS[2]) or '', '%d+') do
          if not found and stamp == ARGV[2] then found = true else kept[#kept + 1] = stamp end
        end
        if #kept == 0 then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], table.concat(kept, ' '), 'KEEPTTL') end
        -- The client's count: one less in the window the accept time fell in, if still kept.
        local fields = {}
        for number in string.gmatch(redis.call('GET', KEYS[4]) or '', '%d+') do fields[#fields + 1] = tonumber(number) end
        if #fields == 3 then
          local width, at = tonumber(ARGV[3]), tonumber(ARGV[2])
          local start = at - at % width
          if fields[1] == start then fields[2] = math.max(0, fields[2] - 1)
          elseif fields[1] == start + width then fields[3] = math.max(0, fields[3] - 1) end
          redis.call('SET', KEYS[4], fields[1] .. ' ' .. fields[2] .. ' ' .. fields[3], 'KEEPTTL')
        end
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        redis.call('DEL', KEYS[3])
        return 1
        """)

    static let settle = RedisScript("""
        -- KEYS: (dedup slot, received copy) of each stored message
        -- ARGV: ('pending:<id>', 'confirmed:<id>', ms left of its window) of each, in order
        -- A slot still pending for a stored message now names one that exists, for the rest
        -- of that message's window, and never for less than the slot had left (the window
        -- storage knows may differ from ingest's during a configuration change).
        for i = 1, #KEYS / 2 do
          local slot, copy, a = KEYS[2 * i - 1], KEYS[2 * i], 3 * i - 2
          if redis.call('GET', slot) == ARGV[a] then
            local keep = math.max(tonumber(ARGV[a + 2]), redis.call('PTTL', slot))
            if keep > 0 then redis.call('SET', slot, ARGV[a + 1], 'PX', keep) end
          end
          redis.call('DEL', copy)
        end
        return 1
        """)

    /// `view` is the message object as JSON, kept as the `received` copy when accepted.
    /// `client` names who sent the request (``ClientIdentity``); nil applies no client limit.
    /// The state returned is that of the limit closer to running out (the client's on a tie
    /// only when it refused), so the `RateLimit-*` headers always describe what stops the
    /// client next.
    public func admit(_ message: AcceptedSMS, client: String? = nil, view pending: [UInt8]) async throws -> Decision {
        let clientLimit = client == nil ? 0 : configuration.clientRateLimitCount
        let reply = try await redis.evaluate(Self.admit, keys: keys(for: message, client: client), arguments: [
            message.receivedAt.millisecondsSince1970, configuration.rateLimitWindow.milliseconds, configuration.rateLimitCount,
            pendingSlotMilliseconds, message.id.uuidString.lowercased(), pending, Self.pendingTTLMilliseconds,
            configuration.clientRateLimitWindow.milliseconds, clientLimit,
        ])
        guard let parts = reply.array, parts.count == 6, let verdict = parts[0].string, let count = parts[2].int, let reset = parts[3].int,
              let clientCount = parts[4].int, let clientReset = parts[5].int else {
            throw RedisError(.unexpectedReply, "admission script answered \(reply)")
        }
        // After an accept the counts include this message; the states say what is left.
        let sender = RateLimitState(limit: configuration.rateLimitCount, remaining: max(0, configuration.rateLimitCount - count),
                                    resetMilliseconds: reset)
        let byClient = RateLimitState(limit: clientLimit, remaining: max(0, clientLimit - clientCount),
                                      resetMilliseconds: clientReset, scope: .client)
        let state = client != nil && byClient.remaining < sender.remaining ? byClient : sender
        switch verdict {
        case "accepted": return .accepted(state)
        case "duplicate":
            guard let value = parts[1].string else { throw RedisError(.unexpectedReply, "bad duplicate slot") }
            // A slot of another shape (an older ingest's bare id) is waited on like a pending
            // one; the id of a pending slot is never answered, so a made-up one does no harm.
            return .duplicate(Slot(value) ?? Slot(id: UUID(uuidString: value) ?? UUID(), confirmed: false), state)
        case "limited_client": return .limited(byClient)
        default: return .limited(sender)
        }
    }

    /// After the broker's confirm: the slot now names a message that exists, for the rest of
    /// the window. One round trip; none when the window is already over.
    public func confirm(_ message: AcceptedSMS, now: Date = Date()) async throws {
        let left = message.receivedAt.millisecondsSince1970 + configuration.dedupWindow.milliseconds - now.millisecondsSince1970
        guard left > 0 else { return }
        _ = try await redis.evaluate(Self.confirm, keys: [dedupKey(for: message)], arguments: [
            Slot.value(message.id, confirmed: false), Slot.value(message.id, confirmed: true), left,
        ])
    }

    /// After a publish that timed out: the message may yet reach the broker, so its slot stays
    /// pending for the rest of the window (at most ``inDoubtHold``) rather than being released.
    public func holdInDoubt(_ message: AcceptedSMS, now: Date = Date()) async throws {
        let left = message.receivedAt.millisecondsSince1970 + configuration.dedupWindow.milliseconds - now.millisecondsSince1970
        let hold = min(left, Self.inDoubtHold.milliseconds)
        guard hold > 0 else { return }
        let pending = Slot.value(message.id, confirmed: false)
        _ = try await redis.evaluate(Self.confirm, keys: [dedupKey(for: message)], arguments: [pending, pending, hold])
    }

    /// Gives back the quota `admit` took (the sender's, and the client's when `client` is the
    /// one it was admitted with) and the duplicate slot.
    public func release(_ message: AcceptedSMS, client: String? = nil) async throws {
        _ = try await redis.evaluate(Self.release, keys: keys(for: message, client: client),
                                   arguments: [Slot.value(message.id, confirmed: false), message.receivedAt.millisecondsSince1970,
                                               configuration.clientRateLimitWindow.milliseconds])
    }

    /// For a duplicate of a pending message: reads the slot again, at growing intervals (5 ms
    /// to 100 ms), until it is confirmed or empty, or `deadline` passes. A slot that now holds
    /// another pending message (the first was released and a resend took its place) is waited
    /// on in the same way.
    public func awaitSlot(of message: AcceptedSMS, until deadline: ContinuousClock.Instant) async throws -> SlotOutcome {
        var pause = Duration.milliseconds(5)
        while true {
            try await Task.sleep(for: max(.zero, min(pause, deadline - ContinuousClock.now)))
            pause = min(pause * 2, .milliseconds(100))
            guard let value = try await redis.send("GET", dedupKey(for: message)).string else { return .empty }
            if let slot = Slot(value), slot.confirmed { return .confirmed(slot.id) }
            // Decided only on a read made at or after the deadline: a slot that expires just
            // before it is then seen empty, however late this task was scheduled.
            if ContinuousClock.now >= deadline { return .pending }
        }
    }

    /// The `received` copy left by `admit`, for reads that come before storage.
    public func pendingMessage(_ id: UUID) async throws -> SMSMessageView? {
        guard let bytes = try await redis.send("GET", Self.pendingKey(id)).bytes else { return nil }
        return try? JSONDecoder.rfc3339.decode(SMSMessageView.self, from: Data(bytes))
    }

    /// For messages now in the database: deletes their `received` copies, and confirms a
    /// duplicate slot still pending for one of them (its publish timed out in ingest, or
    /// ingest's confirm was lost), so that resends are answered with the stored message.
    public static func settleStored(_ messages: [AcceptedSMS], window: Duration, redis: RedisClient, now: Date = Date()) async throws {
        guard !messages.isEmpty else { return }
        var keys: [any RedisArgument] = [], arguments: [any RedisArgument] = []
        keys.reserveCapacity(messages.count * 2)
        arguments.reserveCapacity(messages.count * 3)
        for message in messages {
            keys += [dedupKey(for: message), pendingKey(message.id)]
            let left = message.receivedAt.millisecondsSince1970 + window.milliseconds - now.millisecondsSince1970
            arguments += [Slot.value(message.id, confirmed: false), Slot.value(message.id, confirmed: true), max(0, left)]
        }
        _ = try await redis.evaluate(settle, keys: keys, arguments: arguments)
    }

    /// Without a client, the fourth key is one nothing writes (the script skips the client's limit).
    func keys(for message: AcceptedSMS, client: String?) -> [any RedisArgument] {
        [Self.dedupKey(for: message), "sms:rate:\(message.from)", Self.pendingKey(message.id), "sms:client:\(client ?? "")"]
    }

    func dedupKey(for message: AcceptedSMS) -> String { Self.dedupKey(for: message) }

    static func dedupKey(for message: AcceptedSMS) -> String {
        "sms:dedup:" + SHA256Hex.of(Array("\(message.from)\n\(message.to)\n\(message.message)".utf8))
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
