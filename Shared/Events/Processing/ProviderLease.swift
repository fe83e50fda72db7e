import Foundation
import Logging
import Platform
import Redis
import Synchronization

/// Which processing replica polls a provider: the holder of a Redis lease (`<prefix>:lease`,
/// whose value is the holder's instance id and which expires after `ttl`).
///
/// A holder renews the lease at each round and, during a poll, every third of `ttl` from a
/// background task (``whileHeld(_:_:)``), so a poll that takes longer than `ttl` keeps it.
/// Each time a replica acquires the lease it gets a fencing token (`INCR <prefix>:fence`)
/// higher than every earlier holder's: its batches carry it, and storage refuses a batch whose
/// token is lower than one it has stored for the provider (a holder that stalled past its
/// lease, say in a long GC-like pause or a partition, cannot overwrite a newer holder's data).
///
/// The counter is seeded with Redis's clock in milliseconds when it is missing, so a Redis
/// that lost its data still hands out tokens above the ones storage recorded (at most one
/// acquisition a poll, far fewer than a thousand a second).
final class ProviderLease: Sendable {
    let redis: RedisClient
    let leaseKey: String
    let tokenKey: String
    let instance: String
    let ttl: Duration
    let logger: Logger

    init(redis: RedisClient, keyPrefix: String, instance: String = UUID().uuidString, ttl: Duration, logger: Logger) {
        self.redis = redis
        leaseKey = "\(keyPrefix):lease"
        tokenKey = "\(keyPrefix):fence"
        self.instance = instance
        self.ttl = ttl
        self.logger = logger
    }

    /// KEYS: lease, token counter. ARGV: instance, ttl in ms. Returns the holder's token, or 0.
    static let acquireScript = RedisScript("""
        local function next_token()
          if redis.call('EXISTS', KEYS[2]) == 0 then
            local now = redis.call('TIME')
            redis.call('SET', KEYS[2], now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000)))
          end
          return redis.call('INCR', KEYS[2])
        end
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return next_token() end
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          if redis.call('EXISTS', KEYS[2]) == 0 then return next_token() end
          return redis.call('INCRBY', KEYS[2], 0)
        end
        return 0
        """)

    /// KEYS: lease, token counter. ARGV: instance, ttl in ms, token. 1 when still held with
    /// that token (and extended), else 0.
    static let renewScript = RedisScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[3] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """)

    /// Takes the lease if it is free, or extends it if this instance holds it. Returns the
    /// fencing token of this holding, nil when another instance holds the lease.
    func acquire() async throws -> Int? {
        let token = try await redis.evaluate(Self.acquireScript, keys: [leaseKey, tokenKey], arguments: [instance, ttl.milliseconds]).int ?? 0
        return token > 0 ? token : nil
    }

    /// Extends the lease if this instance still holds it with `token`.
    func renew(token: Int) async throws -> Bool {
        try await redis.evaluate(Self.renewScript, keys: [leaseKey, tokenKey], arguments: [instance, ttl.milliseconds, token]).int == 1
    }

    /// Acquires the lease (or extends it) and, if held, runs `body` while a background task
    /// renews it every third of `ttl`. `body` must check ``LeaseHold/isHeld`` before each
    /// write it hands on. Returns nil when the lease is held by another instance.
    func whileHeld<T: Sendable>(_ body: (LeaseHold) async throws -> T) async throws -> T? {
        let asked = ContinuousClock.now
        guard let token = try await acquire() else { return nil }
        let hold = LeaseHold(token: token, validUntil: asked + validity)
        let renewal = Task { await keepRenewing(hold) }
        defer { renewal.cancel() }
        return try await body(hold)
    }

    /// How long a successful renewal (or acquisition) is trusted, counted from when it was
    /// asked: a little less than `ttl`, so a holder stops before Redis lets another start.
    var validity: Duration { ttl * 0.9 }

    func keepRenewing(_ hold: LeaseHold) async {
        while !Task.isCancelled, hold.isHeld {
            try? await Task.sleep(for: ttl / 3)
            guard !Task.isCancelled else { return }
            let asked = ContinuousClock.now
            do {
                if try await renew(token: hold.token) {
                    hold.extend(to: asked + validity)
                } else {
                    hold.lose()
                    logger.warning("lost the provider lease during a poll; stopping", metadata: ["token": "\(hold.token)"])
                    return
                }
            } catch {
                // Not known to be lost: the hold runs out at its deadline unless a later renewal works.
                logger.warning("could not renew the provider lease", metadata: ["error": "\(error)", "token": "\(hold.token)"])
            }
        }
    }
}

/// What a poll knows of its lease: its fencing token, and whether it still holds it (until the
/// last renewal's deadline, or until a renewal found it gone).
final class LeaseHold: Sendable {
    struct Lost: Error, CustomStringConvertible {
        let token: Int
        var description: String { "the provider lease (token \(token)) was lost or could not be renewed in time" }
    }

    let token: Int
    private let state: Mutex<(validUntil: ContinuousClock.Instant, lost: Bool)>

    init(token: Int, validUntil: ContinuousClock.Instant) {
        self.token = token
        state = Mutex((validUntil, false))
    }

    var isHeld: Bool { state.withLock { !$0.lost && ContinuousClock.now < $0.validUntil } }

    /// Throws ``Lost`` unless the lease is still held.
    func check() throws {
        guard isHeld else { throw Lost(token: token) }
    }

    func extend(to deadline: ContinuousClock.Instant) {
        state.withLock { if deadline > $0.validUntil { $0.validUntil = deadline } }
    }

    func lose() { state.withLock { $0.lost = true } }
}
