@testable import Events
import Foundation
import Platform
import TestSupport
import Testing

/// The fetcher against a provider that answers its headers at once and then trickles the body.
@Suite("Events: feed fetcher")
struct FeedFetcherTests {
    static let document = Array(#"<planList><output><base_plan base_plan_id="1" sell_mode="online" title="T"><plan plan_start_date="2030-01-01T10:00:00" plan_end_date="2030-01-01T11:00:00" plan_id="1"></plan></base_plan></output></planList>"#.utf8)

    func withProvider<T>(port: Int, _ body: (TestProvider) async throws -> T) async throws -> T {
        let provider = TestProvider(port: port)
        let server = try await provider.start()
        defer { server.cancel() }
        return try await body(provider)
    }

    func fetcher(_ provider: TestProvider, timeout: String) throws -> FeedFetcher {
        FeedFetcher(configuration: try ProviderConfiguration(environment: EnvironmentReader([
            "PROVIDER_URL": "http://127.0.0.1:\(provider.port)/feed", "PROVIDER_TIMEOUT": timeout, "PROVIDER_ATTEMPTS": "1",
        ])), client: .shared)
    }

    /// PROVIDER_TIMEOUT covers the whole document: a body that would take 4.5 s is given up at
    /// 1 s. Before, the deadline covered the response's head only, and the fetch took as long
    /// as the provider liked. (When the provider's handler notices the closed connection
    /// depends on its next write and on the machine's load, so it is not asserted here.)
    @Test func theTimeoutCoversTheWholeBody() async throws {
        try await withProvider(port: 18692) { provider in
            provider.serve(.trickle(Self.document, pieces: 10, every: .milliseconds(500)))
            let started = ContinuousClock.now
            await #expect(throws: (any Error).self) { try await fetcher(provider, timeout: "1s").fetch(etag: nil) }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .milliseconds(3_500), "gave up after \(elapsed), not at the 1 s deadline")
        }
    }

    /// A slow body that ends within the timeout is the document, with its SHA-256.
    @Test func aBodyWithinTheTimeoutIsTheDocument() async throws {
        try await withProvider(port: 18693) { provider in
            provider.serve(.trickle(Self.document, pieces: 4, every: .milliseconds(100)))
            guard case .document(let file, _, let digest) = try await fetcher(provider, timeout: "3s").fetch(etag: nil) else {
                Issue.record("expected a document")
                return
            }
            defer { try? FileManager.default.removeItem(at: file) }
            #expect(Array(try Data(contentsOf: file)) == Self.document)
            #expect(digest == SHA256Hex.of(Self.document))
        }
    }
}
