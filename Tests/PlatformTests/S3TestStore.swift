import AsyncHTTPClient
import Foundation
import NIOCore
import Platform
import Testing
import TestSupport

/// An ``S3BlobStore`` on a bucket of its own in moto's S3 server (`TEST_S3_ENDPOINT`,
/// started by `scripts/servers.sh start s3`), for the S3 driver's tests and for the shared
/// blob store contract: `try await S3TestStore.with { store in ... }`.
enum S3TestStore {
    /// moto accepts any credentials; these only have to be signed with.
    static let credentials = AWSCredentials(accessKeyID: "switchyard-test", secretAccessKey: "switchyard-test-secret")

    static var endpoint: String { TestServers.s3Endpoint }

    /// Whether the S3 tests run: when the server answers, or always in CI (`CI` set), where a
    /// missing server must fail the suite rather than skip it.
    static func shouldRun() async -> Bool {
        if ProcessInfo.processInfo.environment["CI"] != nil { return true }
        return await isReachable()
    }

    static let skipMessage: Comment = "no S3 server at TEST_S3_ENDPOINT (\(TestServers.s3Endpoint)): start moto with `scripts/servers.sh start s3` (with CI set, these tests run and fail instead)"

    /// Any HTTP answer counts: moto answers a bare GET with a bucket listing.
    static func isReachable() async -> Bool {
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: endpoint), timeout: .seconds(2))
            _ = try? await response.body.collect(upTo: 1024 * 1024)
            return true
        } catch {
            return false
        }
    }

    /// A store on a new bucket (`switchyard-test-<random>`), shut down after `body`.
    static func with<T>(endpoint: String = endpoint, credentials: AWSCredentials = credentials, createBucket: Bool = true,
                        _ body: (S3BlobStore) async throws -> T) async throws -> T {
        let bucket = "switchyard-test-\(UUID().uuidString.prefix(12).lowercased())"
        var configuration = try S3Configuration(bucket: bucket, region: "us-east-1", endpoint: endpoint, credentials: credentials)
        configuration.connectTimeout = .seconds(2)
        configuration.requestTimeout = .seconds(30)
        let store = S3BlobStore(configuration: configuration)
        do {
            if createBucket { try await store.createBucket() }
            let result = try await body(store)
            try await store.shutdown()
            return result
        } catch {
            try? await store.shutdown()
            throw error
        }
    }
}
