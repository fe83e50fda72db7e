import Foundation
import TestSupport

/// An ingest of a test's own, with settings the shared pipeline does not use, started once per
/// suite (on the ports 19500-19899 kept for such tests) and sharing the pipeline's database,
/// Redis and broker.
actor DedicatedIngest {
    let port: Int
    let environment: [String: String]
    private var process: ServiceProcess?

    init(port: Int, environment: [String: String]) {
        self.port = port
        self.environment = environment
    }

    nonisolated var base: String { "http://127.0.0.1:\(port)" }

    func start() async throws {
        guard process == nil else { return }
        let service = try ServiceProcess("ingest", port: port, environment: environment)
        process = service
        try await service.waitUntilReady()
    }
}
