import AMQP
@testable import Events
import Foundation
import Logging
import Platform
import Redis
import TestSupport
import Testing

/// The poller's lease against the real Redis: renewed while a poll works, lost when another
/// instance takes it, and a fencing token that grows with every new holder.
@Suite("Events: provider lease")
struct ProviderLeaseTests {
    static let logger = Logger(label: "test.events.lease")

    func withRedis<T>(_ body: (RedisClient, String) async throws -> T) async throws -> T {
        let redis = RedisClient(url: TestServers.redisURL)
        let prefix = "test:\(TestServers.unique("lease"))"
        do {
            let result = try await body(redis, prefix)
            _ = try? await redis.send("DEL", "\(prefix):lease", "\(prefix):fence")
            await redis.close()
            return result
        } catch {
            await redis.close()
            throw error
        }
    }

    /// A poll that takes over twice the lease's TTL keeps it the whole time: the other
    /// instance never gets it. (Before, the TTL was not renewed during a poll, so a second
    /// replica started polling once it ran out.)
    @Test func aLeaseIsRenewedThroughALongPoll() async throws {
        try await withRedis { redis, prefix in
            // A TTL of 6 s (renewed every 2 s) leaves room for a loaded machine's scheduling: with
            // 3 s, a full `make test` on two cores once starved the renewal past the TTL.
            let holder = ProviderLease(redis: redis, keyPrefix: prefix, ttl: .seconds(6), logger: Self.logger)
            let other = ProviderLease(redis: redis, keyPrefix: prefix, ttl: .seconds(6), logger: Self.logger)
            let outcome = try await holder.whileHeld { hold -> (otherGotIt: Bool, held: Bool) in
                var otherGotIt = false
                let end = ContinuousClock.now + .seconds(13)
                while ContinuousClock.now < end {
                    if try await other.acquire() != nil { otherGotIt = true }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return (otherGotIt, hold.isHeld)
            }
            let (otherGotIt, held) = try #require(outcome)
            #expect(!otherGotIt)
            #expect(held)
        }
    }

    /// When another instance has the lease, the holder knows at its next renewal (a third of
    /// the TTL), well before its own deadline would pass, and `check()` throws.
    @Test func aLostLeaseIsNoticedAtTheNextRenewal() async throws {
        try await withRedis { redis, prefix in
            let holder = ProviderLease(redis: redis, keyPrefix: prefix, ttl: .seconds(9), logger: Self.logger)
            let noticed = try await holder.whileHeld { hold -> Duration? in
                try await redis.send("SET", "\(prefix):lease", "someone-else")
                let stolen = ContinuousClock.now
                while ContinuousClock.now - stolen < .seconds(8) {
                    if !hold.isHeld { return ContinuousClock.now - stolen }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            let outcome = try #require(noticed)
            // Noticed before the 9 s deadline: by a renewal (every 3 s), not by the clock running out.
            _ = try #require(outcome, "the holder still thought it held the lease 8 s after losing it")
        }
    }

    /// Every acquisition gets a higher token than any before it; a renewal keeps the token;
    /// a missing counter starts from Redis's clock in milliseconds.
    @Test func fencingTokensGrowWithEachHolder() async throws {
        try await withRedis { redis, prefix in
            let first = ProviderLease(redis: redis, keyPrefix: prefix, ttl: .seconds(60), logger: Self.logger)
            let second = ProviderLease(redis: redis, keyPrefix: prefix, ttl: .seconds(60), logger: Self.logger)
            let token1 = try #require(try await first.acquire())
            #expect(Double(token1) > (Date().timeIntervalSince1970 - 3600) * 1000)
            #expect(try await first.acquire() == token1)  // the same holder, extended
            #expect(try await second.acquire() == nil)
            try await redis.send("DEL", "\(prefix):lease")  // as if it expired
            let token2 = try #require(try await second.acquire())
            #expect(token2 > token1)
            #expect(try await first.renew(token: token1) == false)
            #expect(try await second.renew(token: token2))
        }
    }

    /// A poll whose lease is gone publishes nothing: the first batch already fails with
    /// `LeaseHold.Lost`. (Were it sent, storage would keep its offline plans under an id of
    /// this run; nothing else reads them.)
    @Test func aPollerWithoutItsLeasePublishesNothing() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("feed-\(UUID().uuidString).xml")
        var xml = #"<planList><output><base_plan base_plan_id="\#(TestServers.unique("lost"))" sell_mode="offline" title="T">"#
        for n in 0..<1_200 {
            xml += #"<plan plan_start_date="2030-01-01T10:00:00" plan_end_date="2030-01-01T11:00:00" plan_id="\#(n)"></plan>"#
        }
        try (xml + "</base_plan></output></planList>").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let redis = RedisClient(url: TestServers.redisURL)
        let bus = MessageBus(url: try AMQPURL(EventsEnvironment.amqpURL), queues: EventsQueues.all, logger: Self.logger)
        let configuration = try ProviderConfiguration(environment: EnvironmentReader(["PROVIDER_URL": "http://127.0.0.1:1/feed"]))
        let poller = FeedPoller(configuration: configuration, redis: redis, bus: bus, logger: Self.logger)
        let hold = LeaseHold(token: 1, validUntil: ContinuousClock.now + .seconds(60))
        hold.lose()
        await #expect(throws: LeaseHold.Lost.self) { try await poller.publish(file, fetchedAt: Date(), hold: hold) }
        await bus.close()
        await redis.close()
    }
}
