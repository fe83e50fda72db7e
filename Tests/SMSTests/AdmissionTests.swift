import Foundation
import Platform
import Redis
@testable import SMS
import Testing
import TestSupport

/// The admission script itself, against the real Redis. The script's clock is each message's
/// accept time, so the tests walk through a window without waiting for it (the HTTP tests
/// cover the 5-per-minute default and the headers).
@Suite("SMS: admission script (duplicate window, sliding rate limit, release)")
struct AdmissionTests {
    let redis = RedisClient(url: TestServers.redisURL)

    func admission(limit: String, dedup: String = "2s") throws -> SMSAdmission {
        let environment = EnvironmentReader(["SMS_RATE_LIMIT": limit, "SMS_DEDUP_WINDOW": dedup])
        return SMSAdmission(redis: redis, configuration: try SMSConfiguration(environment: environment))
    }

    /// `at` is the accept time the script counts with (the message's `received_at`), so the
    /// window can be walked through without waiting for it.
    func message(from sender: String, _ text: String = "text \(UUID())", at time: Date = Date()) -> AcceptedSMS {
        AcceptedSMS(id: UUID(), from: sender, to: "+442071838750", message: text, callbackURL: nil,
                    receivedAt: Date(timeIntervalSince1970: (time.timeIntervalSince1970 * 1000).rounded(.down) / 1000))
    }

    func admit(_ message: AcceptedSMS, _ admission: SMSAdmission) async throws -> SMSAdmission.Decision {
        try await admission.admit(message, view: Array("{}".utf8))
    }

    @Test func theLimitSlidesOneMessageAtATime() async throws {
        let admission = try admission(limit: "2/60s")
        let sender = SMSPipeline.freshNumber()
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }
        let expected: [(Double, SMSAdmission.Decision)] = [
            (0, .accepted(.init(limit: 2, remaining: 1, resetMilliseconds: 60_000))),
            // The reset counts from the oldest message in the window, not from the newest.
            (20, .accepted(.init(limit: 2, remaining: 0, resetMilliseconds: 40_000))),
            (30, .limited(.init(limit: 2, remaining: 0, resetMilliseconds: 30_000))),
            // The first has left the window: one slot frees while the second still counts.
            (61, .accepted(.init(limit: 2, remaining: 0, resetMilliseconds: 19_000))),
            (62, .limited(.init(limit: 2, remaining: 0, resetMilliseconds: 18_000))),
            // Both earlier accepted ones gone; the one at 61 s remains.
            (81, .accepted(.init(limit: 2, remaining: 0, resetMilliseconds: 40_000))),
        ]
        for (seconds, decision) in expected {
            #expect(try await admit(message(from: sender, at: at(seconds)), admission) == decision, "at \(seconds) s")
        }
    }

    @Test func aDuplicateUsesNoQuotaAndALimitedMessageTakesNoDuplicateSlot() async throws {
        let admission = try admission(limit: "1/60s")
        let sender = SMSPipeline.freshNumber()
        let original = message(from: sender, "same")
        guard case .accepted = try await admit(original, admission) else { Issue.record("refused"); return }
        guard case .duplicate(let of, let state) = try await admit(message(from: sender, "same"), admission) else {
            Issue.record("not a duplicate"); return
        }
        #expect(of == original.id)
        #expect(state.remaining == 0)

        // Refused by the limit: a later identical text must not count as its duplicate.
        let other = SMSPipeline.freshNumber()
        guard case .accepted = try await admit(message(from: other, "first"), admission) else { Issue.record("refused"); return }
        guard case .limited = try await admit(message(from: other, "second"), admission) else { Issue.record("not limited"); return }
        let unlimited = try self.admission(limit: "5/60s")
        guard case .accepted = try await admit(message(from: other, "second"), unlimited) else {
            Issue.record("the limited message left a duplicate slot behind"); return
        }
    }

    @Test func releaseGivesBackTheQuotaTheDuplicateSlotAndThePendingCopy() async throws {
        let admission = try admission(limit: "1/60s")
        let sender = SMSPipeline.freshNumber()
        let first = message(from: sender, "again")
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return }
        #expect(try await redis.send("EXISTS", SMSAdmission.pendingKey(first.id)).int == 1)

        try await admission.release(first)
        #expect(try await redis.send("EXISTS", SMSAdmission.pendingKey(first.id)).int == 0)
        let retried = message(from: sender, "again")
        guard case .accepted(let state) = try await admit(retried, admission) else {
            Issue.record("quota or duplicate slot not given back"); return
        }
        #expect(state.remaining == 0)
    }
}
