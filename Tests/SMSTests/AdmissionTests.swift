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

    /// A pending slot lives as long as a publish can take (production: the 10 s publish deadline
    /// and a second). Tests of its expiry give it 2 s so as not to wait for 11; tests that look
    /// at a pending slot give it more, so that a loaded machine cannot expire it under them.
    func admission(limit: String, dedup: String = "2s", pendingSlotCap: Duration = .seconds(2)) throws -> SMSAdmission {
        let environment = EnvironmentReader(["SMS_RATE_LIMIT": limit, "SMS_DEDUP_WINDOW": dedup])
        return SMSAdmission(redis: redis, configuration: try SMSConfiguration(environment: environment), pendingSlotCap: pendingSlotCap)
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
        let admission = try admission(limit: "1/60s", dedup: "60s")
        let sender = SMSPipeline.freshNumber()
        let original = message(from: sender, "same")
        guard case .accepted = try await admit(original, admission) else { Issue.record("refused"); return }
        try await admission.confirm(original)
        guard case .duplicate(let slot, let state) = try await admit(message(from: sender, "same"), admission) else {
            Issue.record("not a duplicate"); return
        }
        #expect(slot == .init(id: original.id, confirmed: true))
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

    // MARK: - The slot is pending until the broker confirms

    @Test func aDuplicateOfAnUnconfirmedMessageIsNeverAnsweredWithIt() async throws {
        let admission = try admission(limit: "5/60s", dedup: "60s", pendingSlotCap: .seconds(30))
        let sender = SMSPipeline.freshNumber()
        let first = message(from: sender, "in flight")
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return }
        let resend = message(from: sender, "in flight")
        // The first is admitted but its publish is not confirmed: it may never exist.
        guard case .duplicate(let slot, let state) = try await admit(resend, admission) else { Issue.record("not a duplicate"); return }
        #expect(slot == .init(id: first.id, confirmed: false))
        #expect(state.remaining == 4)  // no quota used
        // Waiting gives up at its deadline without ever reporting it confirmed.
        let started = ContinuousClock.now
        #expect(try await admission.awaitSlot(of: resend, until: .now + .milliseconds(300)) == .pending)
        #expect(ContinuousClock.now - started >= .milliseconds(300))
    }

    /// A first message admitted but not yet confirmed, and a resend of it that found its slot pending.
    func pendingDuplicate(_ text: String) async throws -> (SMSAdmission, first: AcceptedSMS, resend: AcceptedSMS, sender: String)? {
        let admission = try admission(limit: "5/60s", dedup: "60s", pendingSlotCap: .seconds(30))
        let sender = SMSPipeline.freshNumber()
        let first = message(from: sender, text)
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return nil }
        let resend = message(from: sender, text)
        guard case .duplicate(let slot, _) = try await admit(resend, admission), !slot.confirmed else { Issue.record("not pending"); return nil }
        return (admission, first, resend, sender)
    }

    @Test func aWaitingDuplicateLearnsOfTheConfirm() async throws {
        guard let (admission, first, resend, sender) = try await pendingDuplicate("confirm me") else { return }
        async let outcome = admission.awaitSlot(of: resend, until: .now + .seconds(20))
        try await Task.sleep(for: .milliseconds(150))
        try await admission.confirm(first)
        #expect(try await outcome == .confirmed(first.id))
        // And a later duplicate is answered at once with the original's id.
        guard case .duplicate(let later, _) = try await admit(message(from: sender, "confirm me"), admission) else {
            Issue.record("not a duplicate"); return
        }
        #expect(later == .init(id: first.id, confirmed: true))
    }

    @Test func afterAFailedPublishAResendIsAcceptedAsNew() async throws {
        guard let (admission, first, resend, sender) = try await pendingDuplicate("doomed") else { return }
        async let outcome = admission.awaitSlot(of: resend, until: .now + .seconds(20))
        try await Task.sleep(for: .milliseconds(150))
        try await admission.release(first)  // what ingest does when the publish fails
        #expect(try await outcome == .empty)
        let again = message(from: sender, "doomed")
        guard case .accepted(let state) = try await admit(again, admission) else { Issue.record("the resend was not admitted"); return }
        #expect(state.remaining == 4)  // the failed one's quota was given back
        // A confirm that comes late for the released message does not take over the resend's slot.
        try await admission.confirm(first)
        #expect(try await redis.send("GET", admission.dedupKey(for: again)).string == "pending:\(again.id.uuidString.lowercased())")
    }

    /// The admission script ran but its reply was lost: ingest answered an error, and nobody
    /// will publish or confirm the id in the slot. It must stop blocking resends once no publish
    /// could still be confirmed (the cap), even under a long window, and no resend may be
    /// answered with it.
    @Test func aSlotNobodyConfirmsExpiresWithThePublishDeadline() async throws {
        let admission = try admission(limit: "5/60s", dedup: "60s")
        let sender = SMSPipeline.freshNumber()
        let lost = message(from: sender, "reply lost")
        guard case .accepted = try await admit(lost, admission) else { Issue.record("refused"); return }
        // At most the 2 s cap left (or already gone, if this machine is slow), not the 60 s window.
        let ttl = try #require(try await redis.send("PTTL", admission.dedupKey(for: lost)).int)
        #expect(ttl == -2 || (1...2_000).contains(ttl), "\(ttl)")

        let resend = message(from: sender, "reply lost")
        switch try await admit(resend, admission) {
        case .duplicate(let slot, _):
            #expect(!slot.confirmed)
            let started = ContinuousClock.now
            #expect(try await admission.awaitSlot(of: resend, until: .now + .seconds(10)) == .empty)
            #expect(ContinuousClock.now - started < .seconds(10))
            guard case .accepted = try await admit(message(from: sender, "reply lost"), admission) else {
                Issue.record("a resend was refused after the lost slot expired"); return
            }
        case .accepted: break  // the slot had expired already (a slow machine): quickly, then
        case .limited: Issue.record("limited")
        }
    }

    /// A publish that timed out may still land: ingest holds the slot pending (a resend is
    /// neither admitted nor answered with it) until storage stores the message and confirms the
    /// slot; then a resend is answered with the stored message.
    @Test func aTimedOutPublishHoldsItsSlotUntilStorageSettlesIt() async throws {
        let admission = try admission(limit: "5/60s", dedup: "60s")
        let sender = SMSPipeline.freshNumber()
        let first = message(from: sender, "in doubt")
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return }
        try await admission.holdInDoubt(first)
        let key = admission.dedupKey(for: first)
        #expect(try await redis.send("GET", key).string == "pending:\(first.id.uuidString.lowercased())")
        let held = try #require(try await redis.send("PTTL", key).int)
        #expect((30_000...60_000).contains(held), "held for \(held) ms, not the rest of the window (at most a minute)")

        let resend = message(from: sender, "in doubt")
        guard case .duplicate(let slot, _) = try await admit(resend, admission) else { Issue.record("the resend was admitted as a second copy"); return }
        #expect(slot == .init(id: first.id, confirmed: false))
        #expect(try await admission.awaitSlot(of: resend, until: .now + .milliseconds(300)) == .pending)

        // The first message reached the broker after all, and storage stored it.
        try await SMSAdmission.settleStored([first], window: .seconds(60), redis: redis)
        #expect(try await redis.send("GET", key).string == "confirmed:\(first.id.uuidString.lowercased())")
        #expect(try await redis.send("EXISTS", SMSAdmission.pendingKey(first.id)).int == 0)
        // The rest of the first message's window, as ingest's own confirm gives it.
        let settled = try #require(try await redis.send("PTTL", key).int)
        #expect((50_000...60_000).contains(settled), "a settled slot lives \(settled) ms, not the rest of the window")
        guard case .duplicate(let settled, _) = try await admit(message(from: sender, "in doubt"), admission) else {
            Issue.record("not a duplicate after settling"); return
        }
        #expect(settled == .init(id: first.id, confirmed: true))
    }

    /// The timeout can be heard just after the pending slot expired: holding takes the empty
    /// slot back, or a resend in the next moment would be admitted as a second copy.
    @Test func holdingTakesBackASlotThatJustExpired() async throws {
        let admission = try admission(limit: "5/60s", dedup: "60s")
        let sender = SMSPipeline.freshNumber()
        let first = message(from: sender, "expired in doubt")
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return }
        try await redis.send("DEL", admission.dedupKey(for: first))  // expired
        try await admission.holdInDoubt(first)
        #expect(try await redis.send("GET", admission.dedupKey(for: first)).string == "pending:\(first.id.uuidString.lowercased())")
        guard case .duplicate = try await admit(message(from: sender, "expired in doubt"), admission) else {
            Issue.record("the resend was admitted as a second copy"); return
        }
    }

    /// Storage may know a shorter window than ingest (a configuration change on its way): a
    /// slot it confirms keeps at least what it had left.
    @Test func settlingNeverShortensASlot() async throws {
        let admission = try admission(limit: "5/60s", dedup: "60s")
        let sender = SMSPipeline.freshNumber()
        let first = message(from: sender, "short storage window")
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return }
        try await admission.holdInDoubt(first)
        try await SMSAdmission.settleStored([first], window: .seconds(2), redis: redis)
        let key = admission.dedupKey(for: first)
        #expect(try await redis.send("GET", key).string == "confirmed:\(first.id.uuidString.lowercased())")
        #expect(try #require(try await redis.send("PTTL", key).int) > 30_000)
    }

    /// Settling a stored message leaves a slot that names another message alone.
    @Test func settlingNeverTakesOverAnotherMessagesSlot() async throws {
        let admission = try admission(limit: "5/60s", dedup: "60s", pendingSlotCap: .seconds(30))
        let sender = SMSPipeline.freshNumber()
        let first = message(from: sender, "taken over")
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return }
        try await admission.release(first)  // its publish failed for sure
        let second = message(from: sender, "taken over")
        guard case .accepted = try await admit(second, admission) else { Issue.record("refused"); return }
        try await SMSAdmission.settleStored([first], window: .seconds(60), redis: redis)
        #expect(try await redis.send("GET", admission.dedupKey(for: second)).string == "pending:\(second.id.uuidString.lowercased())")
    }

    /// Confirmed, the slot lasts the rest of the window measured from the first message's
    /// accept time, not from the confirm; a confirm after the window adds nothing.
    @Test func theConfirmedSlotKeepsTheWindowOfTheFirstMessage() async throws {
        let admission = try admission(limit: "5/60s", dedup: "60s", pendingSlotCap: .seconds(30))
        let sender = SMSPipeline.freshNumber()
        let now = Date()
        let first = message(from: sender, "windowed", at: now.addingTimeInterval(-10))
        guard case .accepted = try await admit(first, admission) else { Issue.record("refused"); return }
        try await admission.confirm(first, now: now)
        let key = admission.dedupKey(for: first)
        #expect(try await redis.send("GET", key).string == "confirmed:\(first.id.uuidString.lowercased())")
        let ttl = try #require(try await redis.send("PTTL", key).int)
        let since = Int(Date().timeIntervalSince(now) * 1000) + 100  // however slow this machine was meanwhile
        #expect((50_000 - since...50_000).contains(ttl), "\(ttl)")

        let late = message(from: sender, "too late", at: now.addingTimeInterval(-61))
        guard case .accepted = try await admit(late, admission) else { Issue.record("refused"); return }
        try await admission.confirm(late, now: now)
        #expect(try await redis.send("GET", admission.dedupKey(for: late)).string?.hasPrefix("confirmed:") != true)
    }
}
