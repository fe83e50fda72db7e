import Foundation
import Postgres
import Redis
import SMS
import TestSupport
import Testing

@Suite("SMS: received -> stored -> processed, lists and metrics", .serialized)
struct PipelineTests {
    let pipeline = SMSPipeline.shared

    init() async throws { try await SMSPipeline.shared.start() }

    @Test(arguments: [
        ("Hello, world!", "GSM-7", 1),
        (String(repeating: "a", count: 160), "GSM-7", 1),
        (String(repeating: "€", count: 100), "GSM-7", 2),   // extension table: two septets each
        ("Привет, мир", "UCS-2", 1),
        (String(repeating: "😀", count: 40), "UCS-2", 2),   // 80 UTF-16 units
    ])
    func messageReachesProcessedWithEncodingAndSegments(text: String, encoding: String, segments: Int) async throws {
        let accepted = try await pipeline.submit(message: text)
        #expect(accepted.status == 202)
        let id = try #require(accepted.data["id"] as? String)
        // Visible at once, before storage has written it.
        let immediately = try await HTTP.get("\(pipeline.base)/messages/\(id)")
        #expect(immediately.status == 200)
        let processed = try await pipeline.waitForStatus("processed", id: id)
        #expect(processed["encoding"] as? String == encoding)
        #expect(processed["segments"] as? Int == segments)
        #expect(processed["stored_at"] is String)
        #expect(processed["processed_at"] is String)
        #expect(processed["received_at"] as? String == accepted.data["received_at"] as? String)
        // Once stored, ingest's `received` copy no longer takes Redis memory.
        let redis = RedisClient(url: TestServers.redisURL, connections: 1)
        #expect(try await redis.send("EXISTS", "sms:pending:\(id)").int == 0)
        await redis.close()
    }

    @Test func listFiltersOrdersAndPaginates() async throws {
        let sender = SMSPipeline.freshNumber()
        var ids: [String] = []
        for n in 1...3 {
            let answer = try await pipeline.submit(from: sender, message: "list \(n)")
            ids.append(try #require(answer.data["id"] as? String))
            try await Task.sleep(for: .milliseconds(5))
        }
        for id in ids { _ = try await pipeline.waitForStatus("processed", id: id) }
        let encoded = sender.replacingOccurrences(of: "+", with: "%2B")
        let all = try await HTTP.get("\(pipeline.base)/messages?from=\(encoded)")
        #expect(all.status == 200)
        #expect(all.data["total"] as? Int == 3)
        #expect(all.data["limit"] as? Int == 10 && all.data["offset"] as? Int == 0)
        let items = try #require(all.data["items"] as? [[String: Any]])
        #expect(items.compactMap { $0["id"] as? String } == ids.reversed())  // newest first
        // A `+` sent unencoded arrives as a space, and is accepted.
        let spaced = try await HTTP.get("\(pipeline.base)/messages?from=\(sender)&limit=2&offset=2")
        #expect((spaced.data["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[0]])
        #expect(spaced.data["total"] as? Int == 3)
        let processed = try await HTTP.get("\(pipeline.base)/messages?from=\(encoded)&status=processed&to=%2B442071838750")
        #expect(processed.data["total"] as? Int == 3)
        let none = try await HTTP.get("\(pipeline.base)/messages?from=\(encoded)&status=received")
        #expect(none.data["total"] as? Int == 0)
    }

    @Test(arguments: ["status=sent", "limit=0", "limit=101", "limit=ten", "offset=-1", "offset=1.5", "from=%2B1234"])
    func badListParametersAre400s(query: String) async throws {
        let answer = try await HTTP.get("\(pipeline.base)/messages?\(query)")
        #expect(answer.status == 400, "\(query): \(answer.text)")
        #expect(answer.error["field"] as? String == String(query.prefix { $0 != "=" }))
    }

    @Test func listIsNeverStaleForLongOnceAMessageIsProcessed() async throws {
        let sender = SMSPipeline.freshNumber()
        let encoded = sender.replacingOccurrences(of: "+", with: "%2B")
        #expect(try await HTTP.get("\(pipeline.base)/messages?from=\(encoded)").data["total"] as? Int == 0)  // now cached
        let id = try #require(try await pipeline.submit(from: sender).data["id"] as? String)
        _ = try await pipeline.waitForStatus("processed", id: id)
        try await Task.sleep(for: .seconds(1))
        let fresh = try await HTTP.get("\(pipeline.base)/messages?from=\(encoded)")
        #expect(fresh.data["total"] as? Int == 1)
    }

    @Test func unknownAndMalformedIds() async throws {
        #expect(try await HTTP.get("\(pipeline.base)/messages/\(UUID().uuidString.lowercased())").status == 404)
        let malformed = try await HTTP.get("\(pipeline.base)/messages/not-a-uuid")
        #expect(malformed.status == 400)
        #expect(malformed.error["field"] as? String == "id")
    }

    @Test func metricsAnswerSeedThreeFiguresInJSON() async throws {
        let id = try #require(try await pipeline.submit().data["id"] as? String)
        _ = try await pipeline.waitForStatus("processed", id: id)
        let answer = try await HTTP.get("\(pipeline.base)/metrics", headers: [("Accept", "application/json")])
        #expect(answer.status == 200)
        #expect((answer.data["total_messages_processed"] as? Int ?? 0) >= 1)
        #expect(answer.data["current_queue_size"] is Int)
        #expect((answer.data["average_processing_time_ms"] as? Double ?? -1) >= 0)
        let text = try await HTTP.get("\(pipeline.base)/metrics")
        #expect(text.text.contains("http_server_request_duration"))
    }
}

@Suite("Ingest: contract document")
struct OpenAPIDocumentTests {
    init() async throws { try await SMSPipeline.shared.start() }

    @Test func servesTheOpenAPIDocument() async throws {
        let answer = try await HTTP.get("\(SMSPipeline.shared.base)/openapi.yaml")
        #expect(answer.status == 200)
        #expect(answer.text.hasPrefix("openapi: 3.1"))
        #expect(answer.text.contains("/messages/{id}/media"))
    }

    @Test func unknownRouteIsA404InTheEnvelope() async throws {
        let answer = try await HTTP.get("\(SMSPipeline.shared.base)/no/such/route")
        #expect(answer.status == 404)
        #expect(answer.error["code"] as? String == "not_found")
        #expect(answer.headers.first(name: "X-Request-Id") != nil)
    }

    @Test func clientRequestIdIsEchoed() async throws {
        let answer = try await HTTP.get("\(SMSPipeline.shared.base)/health/live", headers: [("X-Request-Id", "trace-me-42")])
        #expect(answer.headers.first(name: "X-Request-Id") == "trace-me-42")
    }
}
