import Foundation

/// The real servers the tests talk to: started on loopback by `make test`
/// (scripts/servers.sh), addressed by the same variables the services read.
enum TestServers {
    static var databaseURL: String {
        ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] ?? "postgres://switchyard@127.0.0.1:5432/switchyard_test"
    }
    static var redisURL: String { ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379/0" }
    static var amqpURL: String { ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2F" }

    /// Runs rabbitmqctl against the project's broker (to drop connections in tests).
    static func rabbitmqctl(_ arguments: String...) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/servers.sh").path, "rabbitmqctl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }
}
