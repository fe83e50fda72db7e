import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1
import Platform

/// Downloads the provider's document to a temporary file (never into memory), with a timeout,
/// retries with exponential backoff and jitter, and `If-None-Match` when the provider gave an
/// ETag last time. The document's SHA-256 is computed while it streams to the file, so that a
/// provider without ETags still costs nothing more than the download when nothing changed.
struct FeedFetcher: Sendable {
    enum Outcome {
        case notModified
        /// `sha256`: lowercase hex of the whole body.
        case document(URL, etag: String?, sha256: String)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let configuration: ProviderConfiguration
    let client: HTTPClient

    func fetch(etag: String?) async throws -> Outcome {
        var lastError: any Error = Failure(description: "no attempt made")
        for attempt in 1...configuration.attempts {
            do {
                return try await fetchOnce(etag: etag)
            } catch {
                lastError = error
                guard attempt < configuration.attempts else { break }
                // 0.5 s, 1 s, 2 s ... each scaled by a random 50-100 % so replicas do not retry in step.
                let base = 0.5 * pow(2, Double(attempt - 1))
                try await Task.sleep(for: .milliseconds(Int(base * Double.random(in: 0.5...1.0) * 1000)))
            }
        }
        throw lastError
    }

    /// One attempt, the whole document within `PROVIDER_TIMEOUT`: AsyncHTTPClient's deadline
    /// covers the request until the response's head only, so a provider that sends its
    /// headers and then trickles the body would hold the poll (and the lease) for as long as it
    /// likes. The download runs in a child task that is cancelled at the deadline (cancelling
    /// the body's stream closes the connection).
    func fetchOnce(etag: String?) async throws -> Outcome {
        let timeout = configuration.timeout
        return try await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask { try await download(etag: etag) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            // The deadline came first. A download that finished meanwhile still leaves no file behind.
            while let late = try? await group.next() {
                if case .document(let file, _, _)? = late { try? FileManager.default.removeItem(at: file) }
            }
            throw Failure(description: "the provider did not send the whole document within \(timeout)")
        }
    }

    private func download(etag: String?) async throws -> Outcome {
        var request = HTTPClientRequest(url: configuration.url)
        request.headers.add(name: "Accept", value: "application/xml, text/xml")
        if let etag { request.headers.add(name: "If-None-Match", value: etag) }
        let deadline = NIODeadline.now() + .nanoseconds(Int64(configuration.timeout.components.seconds * 1_000_000_000
                                                             + configuration.timeout.components.attoseconds / 1_000_000_000))
        let response = try await client.execute(request, deadline: deadline)
        if response.status == .notModified { return .notModified }
        guard response.status == .ok else {
            throw Failure(description: "provider answered \(response.status.code)")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-feed-\(UUID().uuidString).xml")
        var hasher = SHA256()
        do {
            var written = 0
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(file.path), options: .newFile(replaceExisting: true)) { handle in
                var writer = handle.bufferedWriter()
                for try await chunk in response.body {
                    written += chunk.readableBytes
                    guard written <= configuration.maxDocumentBytes else {
                        throw Failure(description: "document larger than \(configuration.maxDocumentBytes) bytes")
                    }
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    _ = try await writer.write(contentsOf: chunk)
                }
                try await writer.flush()
            }
            // A cancelled body stream may simply end: never take what came as the whole document.
            try Task.checkCancellation()
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
        let digest = SHA256Hex.hex(hasher.finalize())
        return .document(file, etag: response.headers.first(name: "ETag"), sha256: digest)
    }
}
