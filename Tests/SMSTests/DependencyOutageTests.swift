import Foundation
import TestSupport
import Testing

/// ingest with one dependency out of reach (a loopback port where nothing listens): every
/// answer that needs it is a 503 in the envelope with `Retry-After`, naming the dependency and
/// nothing more (no host, no port), never a 500 and never a hang.
@Suite("SMS: a dependency that is down means 503 with Retry-After", .serialized)
struct DependencyOutageTests {
    func expectUnavailable(_ answer: HTTP.Answer, _ dependency: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == 503, "\(answer.text)", sourceLocation: sourceLocation)
        #expect(Int(answer.headers.first(name: "Retry-After") ?? "") ?? 0 > 0, sourceLocation: sourceLocation)
        #expect(answer.error["code"] as? String == "dependency_unavailable", sourceLocation: sourceLocation)
        #expect((answer.error["message"] as? String)?.contains(dependency) == true, sourceLocation: sourceLocation)
        #expect(!answer.text.contains("127.0.0.1") && !answer.text.contains(":1"), "internals leaked: \(answer.text)",
                sourceLocation: sourceLocation)
    }

    func waitUntilLive(_ port: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let answer = try? await HTTP.get("http://127.0.0.1:\(port)/health/live"), answer.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("ingest on \(port) never came up")
    }

    @Test func redisDown() async throws {
        let ingest = try ServiceProcess("ingest", port: 18620, environment: ["REDIS_URL": "redis://127.0.0.1:1/1"])
        defer { ingest.crash() }
        try await waitUntilLive(18620)
        let base = "http://127.0.0.1:18620"
        let body = #"{"from": "\#(SMSPipeline.freshNumber())", "to": "+442071838750", "message": "hi"}"#
        expectUnavailable(try await HTTP.post("\(base)/messages", json: body), "redis")
        expectUnavailable(try await HTTP.get("\(base)/messages?limit=5"), "redis")
        // /search needs no Redis once ingest's search index has loaded from the database: it
        // answers (until then it reads through the Redis cache, and answers 503 like the rest).
        var search = try await HTTP.get("\(base)/search?starts_at=2021-01-01T00:00:00Z&ends_at=2021-12-31T00:00:00Z")
        let deadline = ContinuousClock.now + .seconds(20)
        while search.status != 200, ContinuousClock.now < deadline {
            if search.status != 503 { Issue.record("/search answered \(search.status) with Redis down: \(search.text)") }
            try await Task.sleep(for: .milliseconds(200))
            search = try await HTTP.get("\(base)/search?starts_at=2021-01-01T00:00:00Z&ends_at=2021-12-31T00:00:00Z")
        }
        #expect(search.status == 200, "\(search.text)")
        // The readiness probe says which dependency, and only that.
        let ready = try await HTTP.get("\(base)/health/ready")
        #expect(ready.status == 503)
        #expect(ready.text.contains("redis"))
    }

    @Test func brokerDown() async throws {
        let ingest = try ServiceProcess("ingest", port: 18621, environment: ["AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"])
        defer { ingest.crash() }
        try await waitUntilLive(18621)
        let from = SMSPipeline.freshNumber()
        let body = #"{"from": "\#(from)", "to": "+442071838750", "message": "queued nowhere"}"#
        // Refused at once (the publish never left ingest), and the duplicate window and the
        // rate limit are given back: the same request again is refused the same way, not
        // answered "duplicate" for a message that does not exist.
        for _ in 0..<3 {
            let answer = try await HTTP.post("http://127.0.0.1:18621/messages", json: body)
            #expect(answer.status == 503, "\(answer.text)")
            #expect(answer.headers.first(name: "Retry-After") != nil)
        }
    }
}
