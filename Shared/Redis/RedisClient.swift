import ClientSupport
import Synchronization

/// A pool of Redis connections with the commands Switchyard uses: single commands,
/// pipelines and Lua scripts. All I/O happens on the pool's own threads.
public final class RedisClient: Sendable {
    private let pool: BlockingConnectionPool<RedisConnection>
    private let scriptHashes = Mutex<[String: String]>([:])

    public init(url: String, size: Int = 8) {
        pool = BlockingConnectionPool(size: size, closedError: { RedisError(.closed, "the client is closed") }) {
            try RedisConnection(url: url)
        }
    }

    @discardableResult
    public func send(_ command: any RedisArgument...) async throws -> RedisValue {
        try await send(command)
    }

    @discardableResult
    public func send(_ command: [any RedisArgument]) async throws -> RedisValue {
        try await pool.withConnection { try $0.send(command) }
    }

    public func pipeline(_ commands: [[any RedisArgument]]) async throws -> [RedisValue] {
        try await pool.withConnection { try $0.pipeline(commands) }
    }

    /// Runs a script by `EVALSHA`, loading it first if this client has not yet, and falling
    /// back to `EVAL` when the server forgot it.
    public func evaluate(_ script: RedisScript, keys: [any RedisArgument], arguments: [any RedisArgument]) async throws -> RedisValue {
        let known = scriptHashes.withLock { $0[script.source] }
        return try await pool.withConnection { [self] connection in
            let tail: [any RedisArgument] = [keys.count] + keys + arguments
            let sha: String
            if let known { sha = known } else {
                guard let loaded = try connection.send(["SCRIPT", "LOAD", script.source]).string else {
                    throw RedisError(.unexpectedReply, "SCRIPT LOAD returned no hash")
                }
                self.scriptHashes.withLock { $0[script.source] = loaded }
                sha = loaded
            }
            do {
                return try connection.send(["EVALSHA", sha] + tail)
            } catch let error as RedisError where error.kind == .server && error.message.hasPrefix("NOSCRIPT") {
                return try connection.send(["EVAL", script.source] + tail)
            }
        }
    }

    public func close() async { await pool.close() }
}
