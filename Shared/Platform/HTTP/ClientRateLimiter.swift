import Redis

/// At most `limit` actions per client (``ClientIdentity``) in a sliding `window`, in Redis so
/// that every replica counts together. Generous limits against abuse, not quotas: the count
/// is kept in two fixed windows, the earlier weighted by how much of it the sliding window
/// still covers (constant work and one short key per client, whatever the limit). One
/// round trip per check.
public struct ClientRateLimiter: Sendable {
    public struct State: Sendable, Equatable {
        public var allowed: Bool
        public var limit: Int
        public var remaining: Int
        /// Whole seconds until the next action would be allowed (refused) or the window turns.
        public var resetSeconds: Int
    }

    let redis: RedisClient
    /// Keys are `<prefix>:<client>`.
    let prefix: String
    public let limit: Int
    public let window: Duration

    public init(redis: RedisClient, prefix: String, limit: Int, window: Duration) {
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window = window
    }

    /// The estimate in Lua, for this limiter's script and for any other script that checks a
    /// client's limit in the same round trip as its own work (SMS admission):
    /// `client_window(key, now, width, limit)` reads the client's counts
    /// (`"<window start ms> <count> <count of the window before>"`) and returns start, count,
    /// previous, used (the sliding estimate) and reset (ms until the window turns, or when
    /// refused, until the estimate drops below the limit: what Retry-After says);
    /// `client_window_take(key, start, count, previous, width)` counts one more.
    public static let slidingWindowLua = """
        local function client_window(key, now, width, limit)
          local start = now - now % width
          local count, previous = 0, 0
          local fields = {}
          for number in string.gmatch(redis.call('GET', key) or '', '%d+') do fields[#fields + 1] = tonumber(number) end
          if fields[1] == start then
            count, previous = fields[2], fields[3]
          elseif fields[1] == start - width then
            previous = fields[2]
          end
          local used = count + math.floor(previous * (width - (now - start)) / width)
          local reset = start + width - now
          if used >= limit then
            if count >= limit then
              reset = reset + math.floor(width * (count - limit) / count) + 1
            else
              reset = math.max(1, math.floor(width - (limit - count) * width / previous - (now - start)) + 1)
            end
          end
          return start, count, previous, used, reset
        end
        local function client_window_take(key, start, count, previous, width)
          redis.call('SET', key, start .. ' ' .. (count + 1) .. ' ' .. previous, 'PX', 2 * width)
        end
        """

    static let script = RedisScript("""
        -- KEYS: the client's counts. ARGV: window ms, limit. Redis's clock: every replica
        -- counts on the same one.
        \(slidingWindowLua)
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local width, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
        local start, count, previous, used, reset = client_window(KEYS[1], now, width, limit)
        if used >= limit then return {0, used, reset} end
        client_window_take(KEYS[1], start, count, previous, width)
        return {1, used + 1, reset}
        """)

    /// Counts one action of `client` unless that would pass the limit.
    public func take(client: String) async throws -> State {
        let reply = try await redis.evaluate(Self.script, keys: ["\(prefix):\(client)"], arguments: [window.milliseconds, limit])
        guard let parts = reply.array, parts.count == 3, let allowed = parts[0].int, let used = parts[1].int, let reset = parts[2].int else {
            throw RedisError(.unexpectedReply, "client rate limit script answered \(reply)")
        }
        return State(allowed: allowed == 1, limit: limit, remaining: max(0, limit - used), resetSeconds: max(1, (reset + 999) / 1000))
    }
}
