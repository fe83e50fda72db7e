import AMQP
import Hummingbird
import HummingbirdTesting
import Platform
import Postgres
import Redis
import Testing

/// The error middleware in-process: which failures are a dependency's outage (503 with
/// `Retry-After`, naming only the dependency) and which are a defect (500, no detail).
@Suite("HTTP errors: outages are 503, defects 500, internals never shown")
struct ErrorEnvelopeTests {
    static let cases: [(error: any Error & Sendable, status: Int, dependency: String?)] = [
        (RedisError(.connection, "Connection refused to 10.0.0.7:6379"), 503, "redis"),
        (RedisError(.closed, "the client is closed"), 503, "redis"),
        (RedisError(.server, "LOADING Redis is loading the dataset in memory"), 503, "redis"),
        (PostgresError(.connection, "could not connect to server at 10.0.0.8:5432"), 503, "database"),
        (PostgresError(.busy, "no connection came free within 5 s"), 503, "database"),
        (PostgresError(.server, "the database system is shutting down", sqlState: "57P03"), 503, "database"),
        (AMQPError(.blocked, "the broker is refusing publishes (resource alarm)"), 503, "broker"),
        (AMQPError(.timeout, "no broker confirm within 10 s"), 503, "broker"),
        (RedisError(.server, "WRONGTYPE Operation against a key holding the wrong kind of value"), 500, nil),
        (PostgresError(.server, "syntax error at or near \"SELEC\" in 10.0.0.8", sqlState: "42601"), 500, nil),
    ]

    @Test(arguments: 0..<cases.count)
    func mapsFailures(index: Int) async throws {
        let (error, status, dependency) = Self.cases[index]
        let router = Router()
        router.add(middleware: ErrorEnvelopeMiddleware())
        router.get("/fails") { _, _ -> String in throw error }
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/fails", method: .get) { response in
                #expect(Int(response.status.code) == status)
                let body = String(buffer: response.body)
                #expect(!body.contains("10.0.0"), "internal detail leaked: \(body)")
                if let dependency {
                    #expect(response.headers[.retryAfter] != nil)
                    #expect(body.contains("dependency_unavailable") && body.contains(dependency))
                } else {
                    #expect(body.contains("internal_error"))
                }
            }
        }
    }
}
