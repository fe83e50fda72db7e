import Foundation
import TestSupport
import Testing

/// While a memory or disk alarm makes RabbitMQ block publishers, `POST /messages` answers 503
/// with `Retry-After` within its publish deadline instead of hanging, and accepts again once
/// the alarm clears; what was accepted before or after is processed.
@Suite("Faults: a broker resource alarm", .serialized)
struct BrokerAlarmTests {
    @Test(arguments: [
        (["set_vm_memory_high_watermark", "0.0001"], ["set_vm_memory_high_watermark", "0.4"]),
        (["set_disk_free_limit", "100000GB"], ["set_disk_free_limit", "200MB"]),
    ])
    func alarmAnswers503ThenRecovers(raise: [String], clear: [String]) async throws {
        let pipeline = try await FaultPipeline.shared.start()
        try await rabbitmqctl(clear)  // whatever an interrupted run left behind
        var accepted: [String] = []
        let before = try await submit(pipeline)
        #expect(before.status == 202)
        if let id = before.data["id"] as? String { accepted.append(id) }

        try await rabbitmqctl(raise)
        do {
            // The disk monitor notices within its interval: wait until a publish is refused.
            var refused = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while refused < 5, ContinuousClock.now < deadline {
                let answer = try await submit(pipeline)
                switch answer.status {
                case 503:
                    refused += 1
                    #expect(answer.headers.first(name: "Retry-After") != nil)
                case 202:
                    #expect(refused == 0, "accepted while the alarm was already refusing publishes")
                    if let id = answer.data["id"] as? String { accepted.append(id) }
                default:
                    Issue.record("unexpected answer \(answer.status): \(answer.text)")
                }
            }
            #expect(refused == 5, "the alarm never made ingest refuse a message")
        } catch {
            try? await rabbitmqctl(clear)  // never leave the broker refusing publishes
            throw error
        }
        try await rabbitmqctl(clear)
        let recovery = ContinuousClock.now + .seconds(30)
        var recovered = false
        while !recovered, ContinuousClock.now < recovery {
            let answer = try await submit(pipeline)
            if answer.status == 202, let id = answer.data["id"] as? String {
                accepted.append(id)
                recovered = true
            } else {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        #expect(recovered, "ingest did not accept messages within 30 s of the alarm clearing")
        try await pipeline.expectStoredOnceAndProcessed(accepted)
    }

    func submit(_ pipeline: FaultPipeline) async throws -> HTTP.Answer {
        let from = "+1415" + String(Int.random(in: 2...9)) + String(format: "%06d", Int.random(in: 0...999_999))
        return try await HTTP.post("\(pipeline.base)/messages", json: #"{"from": "\#(from)", "to": "+442071838750", "message": "alarm"}"#)
    }

    func rabbitmqctl(_ arguments: [String]) async throws {
        try await TestServers.serversScript(["rabbitmqctl"] + arguments)
    }
}
