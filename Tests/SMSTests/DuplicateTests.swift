import Foundation
import HTTPTypes
import Platform
import Redis
@testable import SMS
import Testing
import TestSupport

/// A duplicate answer (200, `duplicate: true`) names a message that exists: end to end through
/// the real ingest, with the duplicate slot put in the states that a lost Redis reply, an
/// unreadable original and a failed publish leave behind.
@Suite("SMS: a duplicate answer only ever names a queued message")
struct DuplicateTests {
    let pipeline = SMSPipeline.shared
    let redis = RedisClient(url: TestServers.redisURL)
    /// As ingest runs in these tests: the defaults (5/60s, a 2 s window).
    let admission = SMSAdmission(redis: RedisClient(url: TestServers.redisURL), configuration: try! SMSConfiguration(environment: EnvironmentReader([:])), pendingSlotCap: .seconds(11))

    init() async throws { try await SMSPipeline.shared.start() }

    func message(from sender: String, _ text: String) -> AcceptedSMS {
        AcceptedSMS(id: UUID(), from: sender, to: "+442071838750", message: text, callbackURL: nil, receivedAt: SMSIngest.nowToTheMillisecond())
    }

    func rows(withID id: String) async throws -> Int {
        try await pipeline.database.query("SELECT count(*) AS n FROM sms_messages WHERE id = $1::uuid", [id])[0].decode("n", as: Int.self)
    }

    /// The admission script ran for a request, but its reply never reached ingest (a Redis
    /// timeout): the client got an error, nothing was published, and the slot names an id
    /// nobody will confirm. The client's resend must not be told that id exists.
    @Test func aResendAfterALostAdmissionReplyIsAcceptedNotAnsweredWithTheLostID() async throws {
        let sender = SMSPipeline.freshNumber()
        let lost = message(from: sender, "reply lost on the way back")
        guard case .accepted = try await admission.admit(lost, view: SMSMessageView(received: lost).jsonBytes) else {
            Issue.record("the lost request was not admitted"); return
        }
        let started = ContinuousClock.now
        let resend = try await pipeline.submit(from: sender, message: lost.message)
        #expect(resend.status == 202, "\(resend.text)")
        let id = try #require(resend.data["id"] as? String)
        #expect(id != lost.id.uuidString.lowercased())
        #expect(resend.data["duplicate"] == nil)
        // It waited for the unconfirmed slot (at most 2 s), not for ever.
        #expect(ContinuousClock.now - started < .seconds(10))
        // A duplicate of the accepted one (confirmed before its 202) gets it.
        let again = try await pipeline.submit(from: sender, message: lost.message)
        #expect(again.status == 200)
        #expect(again.data["id"] as? String == id)

        _ = try await pipeline.waitForStatus("processed", id: id)
        #expect(try await rows(withID: id) == 1)
        #expect(try await rows(withID: lost.id.uuidString.lowercased()) == 0)
    }

    /// The slot says confirmed, but neither the row nor the `received` copy can be read (here:
    /// neither exists). The answer must not be a view of the new request under a fresh id.
    @Test func aDuplicateWhoseOriginalCannotBeReadIsA503NotAnotherID() async throws {
        let sender = SMSPipeline.freshNumber()
        let original = message(from: sender, "original unreadable")
        try await redis.send("SET", admission.dedupKey(for: original), "confirmed:\(original.id.uuidString.lowercased())", "PX", 10_000)
        let answer = try await pipeline.submit(from: sender, message: original.message)
        #expect(answer.status == 503, "\(answer.text)")
        #expect(answer.error["code"] as? String == "duplicate_unavailable")
        #expect(answer.headers.first(name: "Retry-After").flatMap(Int.init) != nil)
        #expect(answer.json["data"] is NSNull)
    }

    /// A vhost where guest may log in but not declare anything: ingest's publisher connects,
    /// is refused its topology, and fails each message it never sent at once, so a publish
    /// fails while the broker itself is up. Because that failure is quick, the resend below
    /// may arrive after the slot was already released rather than while it is pending: the
    /// pending case proper is covered in AdmissionTests (against real Redis), and a resend
    /// that reliably overlaps a slow publish (a blocked broker) is still to be written.
    static let refusedVirtualHost = "switchyard_refused"

    /// The reported case: a client times out while its message is being published and sends
    /// it again; then the publish fails. The resend, arriving meanwhile, must not be a 200
    /// naming the first message, which is never stored.
    @Test(.timeLimit(.minutes(1)))
    func aResendDuringAPublishThatFailsIsNotAnsweredWithIt() async throws {
        try await TestServers.rabbitmqctl("add_vhost", Self.refusedVirtualHost)  // fails harmlessly when it exists
        try await TestServers.rabbitmqctl("set_permissions", "-p", Self.refusedVirtualHost, "guest", "^$", ".*", ".*")
        let ingest = try ServiceProcess("ingest", port: 18586,
                                        environment: ["AMQP_URL": TestServers.amqpURL(virtualHost: Self.refusedVirtualHost)])
        defer { ingest.crash() }
        let base = "http://127.0.0.1:18586"
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? await HTTP.get("\(base)/health/live"))?.status != 200 {
            guard ContinuousClock.now < deadline else { throw HTTP.Failure(description: "ingest on the refused vhost did not start") }
            try await Task.sleep(for: .milliseconds(100))
        }

        let sender = SMSPipeline.freshNumber()
        let body = #"{"from": "\#(sender)", "to": "+442071838750", "message": "the broker is away"}"#
        async let first = HTTP.post("\(base)/messages", json: body)
        // The first is admitted (its slot taken) and waiting for the broker's confirm.
        let slotDeadline = ContinuousClock.now + .seconds(5)
        let key = admission.dedupKey(for: message(from: sender, "the broker is away"))
        while try await redis.send("EXISTS", key).int != 1, ContinuousClock.now < slotDeadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let resend = try await HTTP.post("\(base)/messages", json: body)
        #expect(resend.status != 200, "\(resend.text)")
        #expect(resend.status == 503, "\(resend.text)")
        #expect(resend.data["duplicate"] == nil)
        let original = try await first
        #expect(original.status == 503, "\(original.text)")
        #expect(original.error["code"] as? String == "broker_unavailable")
    }
}

/// What a confirmed duplicate is answered with, decided in process over stand-ins for the reads.
@Suite("SMS: the answer to a duplicate, in process")
struct DuplicateAnswerTests {
    static func original() -> AcceptedSMS {
        AcceptedSMS(id: UUID(), from: "+14155550100", to: "+442071838750", message: "Hi", callbackURL: nil, receivedAt: Date())
    }

    func unavailable(_ find: (UUID) async throws -> SMSMessageView?) async -> APIError? {
        do {
            _ = try await SMSIngest.duplicateView(of: Self.original().id, find: find)
            return nil
        } catch {
            return error
        }
    }

    @Test func aDuplicateIsAnsweredWithTheOriginal() async throws {
        let original = Self.original()
        let view = try await SMSIngest.duplicateView(of: original.id) { $0 == original.id ? SMSMessageView(received: original) : nil }
        #expect(view.id == original.id)
        #expect(view.duplicate == true)
    }

    /// Storage commits and deletes the `received` copy between the row read and the copy read:
    /// both miss once. The second read finds the row.
    @Test func aMissBetweenTheCommitAndTheCopyIsReadAgain() async throws {
        let original = Self.original()
        var reads = 0
        let view = try await SMSIngest.duplicateView(of: original.id) { _ in
            reads += 1
            return reads == 1 ? nil : SMSMessageView(received: original)
        }
        #expect(view.id == original.id)
    }

    @Test func anOriginalThatCannotBeReadIsA503AndNeverAnotherMessage() async throws {
        struct Down: Error {}
        let outcomes: [(String, (UUID) async throws -> SMSMessageView?)] = [
            ("found nowhere", { _ in nil }),
            ("the read failed", { _ in throw Down() }),
            ("a view of another message", { _ in SMSMessageView(received: Self.original()) }),
        ]
        for (what, find) in outcomes {
            let error = await unavailable(find)
            #expect(error?.status == .serviceUnavailable, "\(what)")
            #expect(error?.code == "duplicate_unavailable", "\(what)")
            #expect(error?.headers[.retryAfter] != nil, "\(what)")
        }
    }
}
