import HTTPTypes
import Hummingbird
import Synchronization

/// A receiver on loopback that records which messages reached each of its paths.
final class CallbackReceiver: Sendable {
    let port: Int
    /// Message ids per path, in arrival order.
    let arrivals = Mutex<[String: [String]]>([:])
    /// How long `/slow` keeps a request before answering.
    static let slowAnswer = Duration.seconds(30)

    init(port: Int) { self.port = port }

    func ids(_ path: String) -> [String] { arrivals.withLock { $0[path] ?? [] } }

    func start() async throws -> Task<Void, any Error> {
        let router = Router()
        @Sendable func record(_ request: Request) {
            let id = request.headers[HTTPField.Name("X-Switchyard-Message-Id")!] ?? "-"
            arrivals.withLock { $0[request.uri.path, default: []].append(id) }
        }
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            record(request)
            return .noContent
        }
        router.post("/slow") { request, _ -> HTTPResponse.Status in
            record(request)
            try await Task.sleep(for: Self.slowAnswer)
            return .noContent
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        try await Task.sleep(for: .milliseconds(300))
        return server
    }
}
