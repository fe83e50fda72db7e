import ArgumentParser
import Redis

struct RedisCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redis",
        abstract: "SET commands per second through RedisClient, from concurrent tasks (optionally pipelined).")
    @Option var url = "redis://127.0.0.1:6379/0"
    @Option var requests = 100_000
    @Option(help: "Concurrent callers.") var concurrency = 50
    @Option(help: "Commands per pipeline (1 = no pipelining).") var pipeline = 1
    @Option(help: "Redis connections (lanes) of the client.") var connections = 1

    func run() async throws {
        let redis = RedisClient(url: url, connections: connections)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 3)
        _ = try await redis.send("PING")
        let rounds = requests / pipeline
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var round = worker
                    while round < rounds {
                        if pipeline == 1 {
                            try await redis.send("SET", "bench:key:\(round % 1000)", value)
                        } else {
                            let commands: [[any RedisArgument]] = (0..<pipeline).map { ["SET", "bench:key:\($0)", value] }
                            _ = try await redis.pipeline(commands)
                        }
                        round += concurrency
                    }
                }
            }
            try await group.waitForAll()
        }
        print(Int(Double(rounds * pipeline) / (ContinuousClock.now - started).seconds))
        await redis.close()
    }
}

