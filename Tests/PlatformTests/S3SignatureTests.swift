import AsyncHTTPClient
import Foundation
import NIOCore
@testable import Platform
import Testing
import TestSupport

/// The shared moto accepts any signature, so a second one, started by this suite, checks
/// them (moto's authentication mode, which recomputes each signature with botocore): every
/// kind of request the S3 store sends must be accepted with the right secret, and a wrong
/// secret must be refused as a failure (not an outage) that does not quote the secret.
@Suite("Platform: S3 blob store signatures (moto checking them)", .serialized,
       .enabled(S3TestStore.skipMessage) { await S3TestStore.shouldRun() })
struct S3SignatureTests {
    @Test func everyRequestIsSignedAsS3ChecksIt() async throws {
        let moto = try await SigningMoto.start()
        defer { moto.stop() }
        let credentials = try await moto.createUser()
        try await moto.requireSignatures()

        try await S3TestStore.with(endpoint: moto.endpoint, credentials: credentials) { store in
            let key = try BlobKey("invoices/signed/one")
            let small = S3BlobStoreTests.bytes(1000)
            #expect(try await store.write(key, bytes: small).size == 1000)
            #expect(try await store.read(key, range: 10...19).collect() == Array(small[10...19]))
            #expect(try await store.size(of: key) == 1000)
            _ = try await store.write(try BlobKey("invoices/signed/empty"), bytes: [])

            let large = S3BlobStoreTests.bytes(9 * 1024 * 1024, seed: 5)
            let stored = try await store.write(key, from: S3BlobStoreTests.unevenChunks(large), limit: large.count)
            #expect(stored.sha256 == SHA256Hex.of(large))
            #expect(try await store.read(key).collect() == large)
            #expect(try await store.unfinishedUploads().isEmpty)
            // Passes its limit after the first part went up: the upload is aborted.
            await #expect(throws: BlobStoreError.tooLarge(limit: large.count - 1)) {
                try await store.write(key, from: S3BlobStoreTests.unevenChunks(large), limit: large.count - 1)
            }
            #expect(try await store.unfinishedUploads().isEmpty)  // the abort was signed too
            try await store.delete(key)
            #expect(try await store.size(of: key) == nil)
        }

        let wrong = AWSCredentials(accessKeyID: credentials.accessKeyID, secretAccessKey: "not-the-secret-\(UUID().uuidString)")
        try await S3TestStore.with(endpoint: moto.endpoint, credentials: wrong, createBucket: false) { store in
            do {
                _ = try await store.write(try BlobKey("invoices/signed/refused"), bytes: [1])
                Issue.record("a write signed with the wrong secret succeeded")
            } catch let error as BlobStoreError {
                guard case .failed(_, let detail) = error else { Issue.record("expected .failed, got \(error)"); return }
                #expect(detail.contains("SignatureDoesNotMatch"), "\(detail)")
                #expect(!detail.contains(wrong.secretAccessKey))
            }
        }
    }
}

/// A moto server of the suite's own, on a free loopback port.
final class SigningMoto: @unchecked Sendable {
    // @unchecked: set once in start, read by one test.
    let process: Process
    let endpoint: String

    private init(process: Process, endpoint: String) {
        self.process = process
        self.endpoint = endpoint
    }

    static func start() async throws -> SigningMoto {
        let probe = try SilentListener()
        probe.close()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "--host", "127.0.0.1", "--port", "\(probe.port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let moto = SigningMoto(process: process, endpoint: "http://127.0.0.1:\(probe.port)")
        // Its own API (not an S3 or IAM action, so not counted by the authentication mode).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let answer = try? await HTTP.get("\(moto.endpoint)/moto-api/reset-auth"), answer.status == 400 { return moto }
            try await Task.sleep(for: .milliseconds(100))
        }
        moto.stop()
        throw HTTP.Failure(description: "moto did not start on \(moto.endpoint)")
    }

    /// SIGKILL: moto's server ignores SIGTERM, and its data is only in its memory anyway.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// An IAM user allowed every S3 action, and its access key (IAM's query API, signed with
    /// our signer for service `iam`; moto does not check signatures yet).
    func createUser() async throws -> AWSCredentials {
        _ = try await iam(["Action": "CreateUser", "UserName": "blobs"])
        _ = try await iam(["Action": "PutUserPolicy", "UserName": "blobs", "PolicyName": "s3",
                           "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#])
        let answer = try await iam(["Action": "CreateAccessKey", "UserName": "blobs"])
        guard let id = S3XML.first("AccessKeyId", in: answer), let secret = S3XML.first("SecretAccessKey", in: answer) else {
            throw HTTP.Failure(description: "no access key in \(answer)")
        }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret)
    }

    /// From now on every request must carry a valid signature of a known key.
    func requireSignatures() async throws {
        let answer = try await HTTP.send("POST", "\(endpoint)/moto-api/reset-auth", body: Array("0".utf8))
        guard answer.status == 200 else { throw HTTP.Failure(description: "reset-auth answered \(answer.status) \(answer.text)") }
    }

    private func iam(_ parameters: [String: String]) async throws -> String {
        let form = SigV4Signer.canonicalQuery((parameters.merging(["Version": "2010-05-08"]) { $1 }).map { (name: $0.key, value: $0.value) })
        let host = String(endpoint.dropFirst("http://".count))
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "setup"), region: "us-east-1", service: "iam")
        let signed = signer.sign(method: "POST", path: "/", headers: [(name: "host", value: host), (name: "content-type", value: "application/x-www-form-urlencoded")],
                                 payloadSHA256: SHA256Hex.of(Array(form.utf8)), date: Date())
        let answer = try await HTTP.send("POST", endpoint + "/", headers: signed.headers.map { ($0.name, $0.value) }, body: Array(form.utf8))
        guard answer.status == 200 else { throw HTTP.Failure(description: "IAM \(parameters["Action"] ?? "") answered \(answer.status) \(answer.text)") }
        return answer.text
    }
}
