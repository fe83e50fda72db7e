import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
@testable import Platform
import Synchronization
import TestSupport
import Testing

/// The poster against a real HTTP receiver on loopback: what it dials, how long it waits, how
/// much it reads, and what it does not follow.
@Suite("Outbound: poster", .serialized)
struct OutboundPosterTests {
    final class Receiver: Sendable {
        let port: Int
        let hits = Mutex<[String: Int]>([:])
        let hostHeaders = Mutex<[String]>([])

        init(port: Int) { self.port = port }

        func count(_ path: String) -> Int { hits.withLock { $0[path] ?? 0 } }

        func start() async throws -> Task<Void, any Error> {
            let router = Router()
            @Sendable func record(_ request: Request) {
                hits.withLock { $0[request.uri.path, default: 0] += 1 }
                hostHeaders.withLock { $0.append(request.head.authority ?? "") }
            }
            router.post("/ok") { request, _ -> HTTPResponse.Status in
                record(request)
                return .noContent
            }
            router.post("/redirect") { request, _ -> Response in
                record(request)
                return Response(status: .found, headers: [.location: "http://127.0.0.1:\(self.port)/landing"])
            }
            router.post("/landing") { request, _ -> HTTPResponse.Status in
                record(request)
                return .ok
            }
            router.get("/landing") { request, _ -> HTTPResponse.Status in
                record(request)
                return .ok
            }
            router.post("/hang") { request, _ -> Response in
                record(request)
                try await Task.sleep(for: .seconds(30))
                return Response(status: .ok)
            }
            // The head at once, then a byte every 200 ms for 6 s.
            router.post("/trickle") { request, _ -> Response in
                record(request)
                return Response(status: .ok, body: .init { writer in
                    for _ in 0..<30 {
                        try await writer.write(ByteBuffer(bytes: [0x20]))
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    try await writer.finish(nil)
                })
            }
            // A 2xx whose body never ends: only its first few KiB may be read.
            router.post("/endless") { request, _ -> Response in
                record(request)
                return Response(status: .ok, body: .init { writer in
                    let chunk = ByteBuffer(repeating: 0x61, count: 64 * 1024)
                    for _ in 0..<100_000 {
                        try await writer.write(chunk)
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    try await writer.finish(nil)
                })
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            let task = Task { try await app.runService(gracefulShutdownSignals: []) }
            try await Task.sleep(for: .milliseconds(300))
            return task
        }
    }

    static let loopbackAllowed = ["OUTBOUND_ALLOW_CIDRS": "127.0.0.1/32"]

    /// 3 s unless a test measures the deadline: a loaded two-core machine can take a second to connect.
    func poster(_ environment: [String: String] = loopbackAllowed, timeout: Duration = .seconds(3),
                failures: Int = 5, resolver: HostResolver = HostResolver()) throws -> OutboundPoster {
        OutboundPoster(policy: try OutboundPolicy(environment: EnvironmentReader(environment), resolver: resolver), timeout: timeout,
                       breaker: CircuitBreaker(failureThreshold: failures, cooldown: .seconds(60)))
    }

    func withReceiver(_ base: Int, _ body: (Receiver) async throws -> Void) async throws {
        let receiver = Receiver(port: TestServers.port(base))
        let server = try await receiver.start()
        defer { server.cancel() }
        try await body(receiver)
    }

    func elapsed(_ work: () async throws -> Void) async -> Duration {
        let started = ContinuousClock.now
        try? await work()
        return ContinuousClock.now - started
    }

    @Test func anAllowedReceiverGetsThePost() async throws {
        try await withReceiver(19100) { receiver in
            let status = try await poster().post("http://127.0.0.1:\(receiver.port)/ok", headers: [:], body: Array("{}".utf8))
            #expect(status == 204)
            #expect(receiver.count("/ok") == 1)
        }
    }

    /// Loopback without OUTBOUND_ALLOW_CIDRS: refused before anything is sent, whether written
    /// as an address or reached through a name.
    @Test func aReceiverThatIsNotAllowedIsNeverDialled() async throws {
        try await withReceiver(19101) { receiver in
            for url in ["http://127.0.0.1:\(receiver.port)/ok", "http://2130706433:\(receiver.port)/ok", "http://localhost:\(receiver.port)/ok"] {
                await #expect(throws: OutboundRefusal.self, "\(url)") {
                    try await poster([:]).post(url, headers: [:], body: [])
                }
                // Allowed ports do not change the verdict on the address.
                await #expect(throws: OutboundRefusal.self, "\(url)") {
                    try await poster(["CALLBACK_ALLOWED_PORTS": "\(receiver.port)"]).post(url, headers: [:], body: [])
                }
            }
            #expect(receiver.count("/ok") == 0)
        }
    }

    /// The name is resolved once, by the policy, and the connection goes to that address: a
    /// name no DNS knows reaches the receiver, with its own name in the Host header.
    @Test func theConnectionGoesToTheCheckedAddress() async throws {
        try await withReceiver(19102) { receiver in
            let resolver = HostResolver(lookup: { host throws(OutboundRefusal) in
                guard host == "receiver.switchyard.invalid" else { throw OutboundRefusal(.unresolvable, host) }
                return [.v4(0x7F00_0001)]
            })
            let url = "http://receiver.switchyard.invalid:\(receiver.port)/ok?token=abc"
            let status = try await poster(resolver: resolver).post(url, headers: [:], body: [])
            #expect(status == 204)
            #expect(receiver.hostHeaders.withLock { $0 } == ["receiver.switchyard.invalid:\(receiver.port)"])
        }
    }

    @Test func redirectsAreNotFollowed() async throws {
        try await withReceiver(19103) { receiver in
            await #expect(throws: OutboundPoster.Failure.self) {
                try await poster().post("http://127.0.0.1:\(receiver.port)/redirect", headers: [:], body: [])
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.count("/redirect") == 1)
            #expect(receiver.count("/landing") == 0)
        }
    }

    /// One deadline for the whole exchange: a receiver that answers its head at once and then
    /// trickles the body for 6 s is given up at the 1 s deadline.
    @Test func theDeadlineCoversTheBody() async throws {
        try await withReceiver(19104) { receiver in
            let poster = try poster(timeout: .seconds(1))
            let took = await elapsed {
                await #expect(throws: OutboundPoster.Failure.self) {
                    try await poster.post("http://127.0.0.1:\(receiver.port)/trickle", headers: [:], body: [])
                }
            }
            #expect(took < .milliseconds(2_500), "took \(took)")
        }
    }

    /// The deadline covers resolution too: a lookup that blocks for 4 s (a DNS server that
    /// never answers) is given up at the 1 s deadline, not waited for.
    @Test func theDeadlineCoversASlowLookup() async throws {
        let resolver = HostResolver(lookup: { _ throws(OutboundRefusal) in
            sleep(4)
            return [.v4(0x7F00_0001)]
        })
        let poster = try poster(timeout: .seconds(1), resolver: resolver)
        let took = await elapsed {
            await #expect(throws: OutboundPoster.Failure.self) {
                try await poster.post("http://slow-dns.switchyard.invalid/ok", headers: [:], body: [])
            }
        }
        #expect(took < .milliseconds(2_500), "took \(took)")
    }

    /// At most a few KiB of the answer are read: a 2xx with an endless body is a success at once.
    @Test func onlyTheFirstKiBOfTheAnswerAreRead() async throws {
        try await withReceiver(19105) { receiver in
            let poster = try poster(timeout: .seconds(5))
            let took = await elapsed {
                let status = try await poster.post("http://127.0.0.1:\(receiver.port)/endless", headers: [:], body: [])
                #expect(status == 200)
            }
            #expect(took < .seconds(2), "took \(took)")
        }
    }

    /// After two failures the origin's circuit is open: the next delivery fails at once without
    /// dialling it, while another origin is served as usual.
    @Test func anOpenCircuitFailsFastAndSparesOtherOrigins() async throws {
        try await withReceiver(19106) { receiver in
            try await withReceiver(19107) { other in
                let poster = try poster(timeout: .seconds(1), failures: 2)
                let url = "http://127.0.0.1:\(receiver.port)/hang"
                for _ in 1...2 {
                    await #expect(throws: OutboundPoster.Failure.self) { try await poster.post(url, headers: [:], body: []) }
                }
                #expect(receiver.count("/hang") == 2)
                let took = await elapsed {
                    do {
                        try await poster.post(url, headers: [:], body: [])
                        Issue.record("an open circuit let the post through")
                    } catch let failure as OutboundPoster.Failure {
                        #expect(failure.kind == .circuitOpen)
                    }
                }
                #expect(took < .milliseconds(200), "took \(took)")
                #expect(receiver.count("/hang") == 2)
                let status = try await poster.post("http://127.0.0.1:\(other.port)/ok", headers: [:], body: [])
                #expect(status == 204)
            }
        }
    }

    /// A 4xx says the endpoint is up: anyone can make a shared receiver answer 404 (a callback
    /// to a path it does not have), and that must not open the circuit for everyone else's.
    @Test func clientErrorsDoNotOpenTheCircuit() async throws {
        try await withReceiver(19108) { receiver in
            let poster = try poster(failures: 2)
            for _ in 1...4 {
                do {
                    try await poster.post("http://127.0.0.1:\(receiver.port)/no-such-path", headers: [:], body: [])
                    Issue.record("a 404 was taken for a success")
                } catch let failure as OutboundPoster.Failure {
                    #expect(failure.kind == .status(404))
                }
            }
            let status = try await poster.post("http://127.0.0.1:\(receiver.port)/ok", headers: [:], body: [])
            #expect(status == 204)
        }
    }
}
