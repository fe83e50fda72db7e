import Foundation

/// The real servers the tests talk to: started on loopback by `make test`
/// (scripts/servers.sh), addressed by the same variables the services read.
public enum TestServers {
    public static var databaseURL: String {
        ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] ?? "postgres://switchyard@127.0.0.1:5432/switchyard_test"
    }
    /// Redis database 1: tests never see the local run's keys (database 0).
    public static var redisURL: String { ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379/1" }
    /// The test vhost: tests never touch the local run's queues (vhost "/").
    public static var amqpURL: String {
        ProcessInfo.processInfo.environment["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/switchyard_test"
    }
    /// The test vhost's name (`switchyard_test` unless `TEST_AMQP_URL` names another): suites
    /// that need a vhost of their own name it after this one, so two checkouts that test at
    /// once on one broker, each with its own `TEST_AMQP_URL`, never share queues.
    public static var virtualHost: String {
        String(amqpURL.split(separator: "/", omittingEmptySubsequences: false).last ?? "switchyard_test")
    }
    /// moto's S3 API server (scripts/servers.sh, `S3_PORT`): the S3 blob driver's tests make
    /// buckets of their own there.
    public static var s3Endpoint: String {
        ProcessInfo.processInfo.environment["TEST_S3_ENDPOINT"] ?? "http://127.0.0.1:9000"
    }
    /// A port for a test to listen on or start a service on: `base` plus `TEST_PORT_OFFSET`
    /// (default 0), so that two checkouts can run the suites that use it at the same time.
    public static func port(_ base: Int) -> Int {
        base + (Int(ProcessInfo.processInfo.environment["TEST_PORT_OFFSET"] ?? "") ?? 0)
    }
    /// A vhost nothing else uses, for services that must not take real work (a broken one).
    public static var isolatedAMQPURL: String { amqpURL(virtualHost: "switchyard_isolated") }
    /// A vhost whose connections a test may drop all at once without touching other suites,
    /// which run in parallel on the test vhost.
    public static let faultsVirtualHost = "switchyard_faults"
    public static var faultsAMQPURL: String { amqpURL(virtualHost: faultsVirtualHost) }

    /// A vhost where no service ever consumes, for the operator CLI's tests.
    public static var cliAMQPURL: String { amqpURL(virtualHost: "switchyard_cli") }

    /// The test broker (`TEST_AMQP_URL`'s user, host and port) with another virtual host.
    public static func amqpURL(virtualHost: String) -> String {
        let base = amqpURL
        guard let slash = base.range(of: "/", options: .backwards), slash.lowerBound > base.index(base.startIndex, offsetBy: 7) else {
            return base + "/" + virtualHost
        }
        return base[..<slash.lowerBound] + "/" + virtualHost
    }

    /// The repository's root folder.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs rabbitmqctl against the project's broker (to drop connections in tests); its exit
    /// status is not checked (`add_vhost` of a vhost that exists fails harmlessly). Awaited, never
    /// blocking: rabbitmqctl starts an Erlang VM (1-2 s), and two tests blocking the two threads
    /// of the cooperative pool that long starved every other suite (a lease went unrenewed).
    public static func rabbitmqctl(_ arguments: String...) async throws {
        try await serversScript(["rabbitmqctl"] + arguments, requireSuccess: false)
    }

    /// Runs `scripts/servers.sh` (say `stop redis`, or `start`) and waits for it, at most
    /// `timeout`; throws when it fails or takes longer. Polls rather than blocking a thread of
    /// the cooperative pool in `waitUntilExit`.
    public static func serversScript(_ arguments: String..., timeout: Duration = .seconds(180)) async throws {
        try await serversScript(arguments, timeout: timeout)
    }

    public static func serversScript(_ arguments: [String], timeout: Duration = .seconds(180), requireSuccess: Bool = true) async throws {
        // posix_spawn and waitpid, not Foundation's Process: the servers the script leaves
        // running inherit what Process watches to notice the exit, so it never noticed, and
        // the script stayed an unreaped zombie while the test waited forever.
        let argv = ["/bin/bash", root.appendingPathComponent("scripts/servers.sh").path] + arguments
        var pid = pid_t()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw HTTP.Failure(description: "could not start servers.sh: error \(spawned)") }
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw HTTP.Failure(description: "servers.sh \(arguments.joined(separator: " ")) still running after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        // WIFEXITED and WEXITSTATUS are macros: exited normally when the low 7 bits are 0.
        guard !requireSuccess || (status & 0x7f == 0 && (status >> 8) & 0xff == 0) else {
            throw HTTP.Failure(description: "servers.sh \(arguments.joined(separator: " ")) failed (wait status \(status))")
        }
    }

    public static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }
}
