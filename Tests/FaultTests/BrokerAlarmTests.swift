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

    /// The first message after the alarm is sent before the broker says it is blocked, and its
    /// confirm never comes: 503 at the publish deadline, but the broker may still take it (it
    /// reads what waited in the socket once the alarm clears). Its duplicate slot must hold a
    /// resend back (503 `duplicate_pending`, not a second copy) until storage has the message
    /// and confirms the slot; a resend is then answered 200 naming it. Before, the slot was
    /// released on any publish failure and the resend was admitted as a second message.
    @Test func aPublishThatTimedOutHoldsItsDuplicateSlotUntilStored() async throws {
        let pipeline = try await FaultPipeline.shared.start()
        // An ingest with a long duplicate window (the pipeline's has the 2 s default).
        let ingest = try ServiceProcess("ingest", port: 18654, environment: [
            "AMQP_URL": TestServers.faultsAMQPURL, "SMS_DEDUP_WINDOW": "120s", "PROVIDER_URL": "http://127.0.0.1:1/",
        ])
        defer { ingest.crash() }
        try await ingest.waitUntilReady()
        let base = "http://127.0.0.1:18654"
        let clear = ["set_vm_memory_high_watermark", "0.4"]
        try await rabbitmqctl(clear)
        let from = "+1415" + String(Int.random(in: 2...9)) + String(format: "%06d", Int.random(in: 0...999_999))
        let body = #"{"from": "\#(from)", "to": "+442071838750", "message": "in doubt \#(UUID())"}"#
        // Connects ingest's publisher while the broker is healthy.
        let warmUp = try await HTTP.post("\(base)/messages", json: #"{"from": "\#(from)", "to": "+442071838750", "message": "warm-up"}"#)
        #expect(warmUp.status == 202)

        try await rabbitmqctl(["set_vm_memory_high_watermark", "0.0001"])
        let rescue = Task {  // never leave the broker refusing publishes, whatever happens below
            try await Task.sleep(for: .seconds(60))
            try await rabbitmqctl(clear)
        }
        let first = try await HTTP.post("\(base)/messages", json: body)
        #expect(first.status == 503)
        #expect(first.error["code"] as? String == "broker_unavailable", "\(first.text)")
        let resend = try await HTTP.post("\(base)/messages", json: body)
        #expect(resend.status == 503)
        #expect(resend.error["code"] as? String == "duplicate_pending", "the resend was not held back: \(resend.text)")
        try await rabbitmqctl(clear)
        rescue.cancel()

        // The broker now reads the first message, storage stores it and confirms its slot.
        var answered: HTTP.Answer?
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let answer = try await HTTP.post("\(base)/messages", json: body)
            if answer.status != 503 { answered = answer; break }
            #expect(answer.error["code"] as? String == "duplicate_pending", "\(answer.text)")
            try await Task.sleep(for: .milliseconds(500))
        }
        let final = try #require(answered, "resends were held back for a minute and never answered")
        #expect(final.status == 200, "\(final.text)")
        #expect(final.data["duplicate"] as? Bool == true)
        let stored = try await pipeline.database.query(#"SELECT id::text AS id FROM sms_messages WHERE "from" = $1 AND message LIKE 'in doubt %'"#, [from])
        #expect(stored.count == 1, "the message in doubt is stored \(stored.count) times")
        #expect(try stored.first?.decode("id", as: String.self) == final.data["id"] as? String)
    }

    func submit(_ pipeline: FaultPipeline) async throws -> HTTP.Answer {
        let from = "+1415" + String(Int.random(in: 2...9)) + String(format: "%06d", Int.random(in: 0...999_999))
        return try await HTTP.post("\(pipeline.base)/messages", json: #"{"from": "\#(from)", "to": "+442071838750", "message": "alarm"}"#)
    }

    func rabbitmqctl(_ arguments: [String]) async throws {
        try await TestServers.serversScript(["rabbitmqctl"] + arguments)
    }
}
