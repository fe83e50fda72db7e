import Foundation
import Redis
import TestSupport
import Testing

@Suite("Redis client (hiredis)")
struct RedisTests {
    let redis = RedisClient(url: TestServers.redisURL)

    @Test func commandsAreBinarySafe() async throws {
        let key = TestServers.unique("test:binary")
        let value: [UInt8] = [0, 1, 2, 0, 255, 13, 10]
        try await redis.send("SET", key, value, "EX", 60)
        #expect(try await redis.send("GET", key).bytes == value)
        #expect(try await redis.send("GET", TestServers.unique("test:missing")).isNull)
    }

    @Test func pipelineReturnsEveryReplyInOrder() async throws {
        let key = TestServers.unique("test:counter")
        let commands: [[any RedisArgument]] = (0..<1_000).map { _ in ["INCR", key] } + [["EXPIRE", key, 60], ["LPUSH", key, "x"]]
        let replies = try await redis.pipeline(commands)
        #expect(replies.count == 1_002)
        #expect(replies[999].int == 1_000)
        // A failing command does not hide the others: WRONGTYPE comes back in place.
        if case .error(let message) = replies[1_001] { #expect(message.hasPrefix("WRONGTYPE")) } else { Issue.record("expected WRONGTYPE") }
    }

    /// Many callers share each connection's round trips; each must get its own replies.
    @Test func concurrentCallersEachGetTheirOwnReplies() async throws {
        let prefix = TestServers.unique("test:lane")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<500 {
                group.addTask {
                    let key = "\(prefix):\(caller)"
                    try await redis.send("SET", key, "value \(caller)", "EX", 60)
                    #expect(try await redis.send("GET", key).string == "value \(caller)")
                    let replies = try await redis.pipeline([["INCRBY", key + ":n", caller], ["INCRBY", key + ":n", 1], ["DEL", key, key + ":n"]])
                    #expect(replies.map(\.int) == [caller, caller + 1, 2])
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func serverErrorsAreThrown() async throws {
        await #expect(throws: RedisError.self) { try await redis.send("NOSUCHCOMMAND") }
    }

    @Test func luaScriptRunsAndSurvivesScriptFlush() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        let key = TestServers.unique("test:lua")
        #expect(try await redis.evaluate(script, keys: [key], arguments: [5]).int == 5)
        try await redis.send("SCRIPT", "FLUSH")  // the server forgets it: NOSCRIPT, then EVAL
        #expect(try await redis.evaluate(script, keys: [key], arguments: [2]).int == 7)
        #expect(try await redis.evaluate(script, keys: [key], arguments: [1]).int == 8)
        try await redis.send("DEL", key)
    }

    @Test func reconnectsAfterTheServerDropsItsConnection() async throws {
        let single = RedisClient(url: TestServers.redisURL, connections: 1)
        let id = try #require(try await single.send("CLIENT", "ID").int)
        // Kill only this client's own connection, so parallel tests are not disturbed.
        try await single.send("CLIENT", "KILL", "ID", id, "SKIPME", "no")
        // The killed connection fails at most once; then the pool dials a new one.
        _ = try? await single.send("PING")
        #expect(try await single.send("PING").string == "PONG")
        #expect(try await single.send("CLIENT", "ID").int != id)
        await single.close()
    }

    @Test func badAddressIsATypedError() async throws {
        let broken = RedisClient(url: "redis://127.0.0.1:1/0", connections: 1)
        await #expect(throws: RedisError.self) { try await broken.send("PING") }
        await broken.close()
    }
}
