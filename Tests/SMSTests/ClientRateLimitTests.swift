import Foundation
import TestSupport
import Testing

/// Issue 12 item 9: `from` is the client's to choose, so `POST /messages` also limits each
/// client (its proven principal, else its address) whatever senders it names, with the same headers;
/// item 7: uploads of media are limited per client the same way.
///
/// Every test connects from 127.0.0.1, so this ingest trusts 127.0.0.1 as a proxy and each
/// test names a client address of its own in `X-Forwarded-For` (what a load balancer in front
/// would do); that ingest's address is otherwise the socket's (ClientIdentityTests).
@Suite("SMS: per-client rate limits", .serialized)
struct ClientRateLimitTests {
    static let ingest = DedicatedIngest(port: 19500, environment: [
        "SMS_CLIENT_RATE_LIMIT": "3/60s", "SMS_MEDIA_CLIENT_RATE_LIMIT": "2/60s", "TRUSTED_PROXIES": "127.0.0.1",
        // Long enough that the duplicates below stay duplicates on a loaded machine.
        "SMS_DEDUP_WINDOW": "60s",
    ])

    init() async throws {
        try await Self.ingest.start()
        try await SMSPipeline.shared.start()
    }

    /// A client address no other test uses (10.x.y.z), behind one the client made up.
    static func freshAddress() -> String { "192.0.2.1, 10.\((0..<3).map { _ in String(Int.random(in: 1...254)) }.joined(separator: "."))" }

    func submit(from: String = SMSPipeline.freshNumber(), headers: [(String, String)]) async throws -> HTTP.Answer {
        try await HTTP.post("\(Self.ingest.base)/messages", json: #"{"from": "\#(from)", "to": "+442071838750", "message": "client limit"}"#,
                            headers: headers)
    }

    @Test func oneClientCannotSendMoreThanItsLimitUnderAnySenders() async throws {
        let client = [("X-Forwarded-For", Self.freshAddress())]
        for expectedRemaining in [2, 1, 0] {
            let accepted = try await submit(headers: client)
            #expect(accepted.status == 202, "\(accepted.text)")
            // The client's limit is the one closer to running out (each sender has 4 of 5 left).
            #expect(accepted.headers.first(name: "RateLimit-Limit") == "3")
            #expect(accepted.headers.first(name: "RateLimit-Remaining") == String(expectedRemaining))
        }
        let refused = try await submit(headers: client)
        #expect(refused.status == 429, "\(refused.text)")
        #expect(refused.error["code"] as? String == "rate_limited")
        #expect(refused.headers.first(name: "RateLimit-Limit") == "3")
        #expect(refused.headers.first(name: "RateLimit-Remaining") == "0")
        let retryAfter = try #require(refused.headers.first(name: "Retry-After").flatMap(Int.init))
        #expect((1...60).contains(retryAfter))
        #expect(refused.headers.first(name: "RateLimit-Reset") == String(retryAfter))

        // Another client has its own quota. Naming a sender in `Authorization` does not give
        // one: in AUTH_MODE=dev (this ingest's) that header is the client's word, so the address
        // still counts (with a signed token, AUTH_MODE=jwt, the principal does: ClientIdentityTests).
        #expect(try await submit(headers: [("X-Forwarded-For", Self.freshAddress())]).status == 202)
        let claimingASender = client + [("Authorization", "sender \(Int.random(in: 1_000_000...9_999_999))")]
        #expect(try await submit(headers: claimingASender).status == 429)
    }

    @Test func aDuplicateUsesNoClientQuota() async throws {
        let client = [("X-Forwarded-For", Self.freshAddress())]
        let from = SMSPipeline.freshNumber()
        #expect(try await submit(from: from, headers: client).status == 202)
        for _ in 0..<3 { #expect(try await submit(from: from, headers: client).status == 200) }
        #expect(try await submit(headers: client).status == 202)
        #expect(try await submit(headers: client).status == 202)
        #expect(try await submit(headers: client).status == 429)
    }

    @Test func uploadsAreLimitedPerClient() async throws {
        let id = try #require(try await SMSPipeline.shared.submit().data["id"] as? String)
        let client = [("X-Forwarded-For", Self.freshAddress()), ("Content-Type", "image/png")]
        func upload() async throws -> HTTP.Answer {
            try await HTTP.send("POST", "\(Self.ingest.base)/messages/\(id)/media", headers: client, body: MediaTests.png())
        }
        #expect(try await upload().status == 201)
        #expect(try await upload().status == 201)
        let refused = try await upload()
        #expect(refused.status == 429, "\(refused.text)")
        #expect(refused.headers.first(name: "Retry-After") != nil)
    }
}
