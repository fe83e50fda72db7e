import Synchronization

/// The Redis commands Switchyard uses: single commands, pipelines and Lua scripts, over a few
/// connections that each pipeline whatever their callers have queued (see ``RedisLane``).
/// All I/O happens on the lanes' own threads, never on an event loop or the cooperative pool.
public final class RedisClient: Sendable {
    private let lanes: [RedisLane]
    private let nextLane = Atomic<Int>(0)

    /// `connections` lanes, each a connection and a thread. One is the default: requests
    /// arriving together then share round trips, which saves both this process and Redis a
    /// system call and a thread wake-up per command (under `POST /messages` load one lane cost
    /// ingest ~30 us and Redis ~15 us less per request than two). More lanes help when callers
    /// send large pipelines or slow commands, whose encoding and parsing then use more cores.
    public init(url: String, connections: Int = 1) {
        precondition(connections > 0, "a client needs at least one connection")
        lanes = (0..<connections).map { RedisLane(url: url, name: "redis-\($0)") }
    }

    /// One command; a server error reply is thrown as ``RedisError/Kind/server``.
    @discardableResult
    public func send(_ command: any RedisArgument...) async throws -> RedisValue {
        try await send(command)
    }

    @discardableResult
    public func send(_ command: [any RedisArgument]) async throws -> RedisValue {
        let reply = try await lane().submit([command])[0]
        if case .error(let message) = reply { throw RedisError(.server, message) }
        return reply
    }

    /// Commands sent back to back on one connection; error replies come back in place.
    public func pipeline(_ commands: [[any RedisArgument]]) async throws -> [RedisValue] {
        try await lane().submit(commands)
    }

    /// Runs a script by `EVALSHA`, falling back to `EVAL` (which loads it) when the server
    /// does not know it yet or forgot it.
    public func evaluate(_ script: RedisScript, keys: [any RedisArgument], arguments: [any RedisArgument]) async throws -> RedisValue {
        let tail: [any RedisArgument] = [keys.count] + keys + arguments
        do {
            return try await send(["EVALSHA", script.sha1] + tail)
        } catch let error as RedisError where error.kind == .server && error.message.hasPrefix("NOSCRIPT") {
            return try await send(["EVAL", script.source] + tail)
        }
    }

    public func close() async {
        for lane in lanes { await lane.close() }
    }

    private func lane() -> RedisLane {
        lanes.count == 1 ? lanes[0] : lanes[nextLane.wrappingAdd(1, ordering: .relaxed).oldValue % lanes.count]
    }
}
