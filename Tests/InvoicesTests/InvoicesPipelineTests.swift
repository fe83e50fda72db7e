import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import Postgres
import TestSupport
import Testing

/// Invoices end to end through the real services, broker, database, blob folder, SMTP sink and a
/// callback receiver: seed 001's flow, the file checks, the email and the paid callback, each
/// once, and no loss when storage and processing are killed under load.
@Suite("Invoices: pipeline end to end", .serialized)
struct InvoicesPipelineTests {
    let pipeline = InvoicesPipeline.shared

    @Test func seed001sFlowUploadCheckEmailPayCallbackDownload() async throws {
        try await pipeline.start()
        let ids = InvoicesPipeline.freshIDs()
        let email = "receiver-\(ids.consumer)@example.com"
        let created = try await pipeline.upload(sender: ids.sender, receiver: ids.consumer, file: InvoiceFixtures.pdf,
                                                notifyEmail: email, callback: true)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.data["id"] as? String)
        #expect(created.data["status"] as? String == "received")

        let available = try await pipeline.waitForStatus(["available", "rejected"], id: id, sender: ids.sender)
        #expect(available["status"] as? String == "available", "\(available)")

        // The receiver's email: in the sink, with the invoice's details, once.
        #expect(try await eventually { try pipeline.mails(containing: id).count == 1 })
        let mail = try #require(try pipeline.mails(containing: id).first)
        #expect(mail.contains(email))
        #expect(mail.contains(SHA256Hex(InvoiceFixtures.pdf)))

        // Seed 001's consumer calls, verbatim in dev mode.
        let consumer = [("Authorization", "consumer \(ids.consumer)")]
        let bySender = try await HTTP.get("\(pipeline.base)/api/consumer/invoices/sender/\(ids.sender)", headers: consumer)
        #expect((bySender.data["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
        let paid = try await HTTP.send("POST", "\(pipeline.base)/api/consumer/invoices/\(id)/pay", headers: consumer, body: nil)
        #expect(paid.status == 200, "\(paid.text)")
        #expect(paid.data["status"] as? String == "paid")
        let again = try await HTTP.send("POST", "\(pipeline.base)/api/consumer/invoices/\(id)/pay", headers: consumer, body: nil)
        #expect(again.status == 409)
        let file = try await HTTP.get("\(pipeline.base)/api/consumer/invoices/\(id)/file", headers: consumer)
        #expect(file.status == 200)
        #expect(file.body == InvoiceFixtures.pdf)

        // The sender's callback: signed over `<timestamp>.<body>`, once.
        #expect(try await eventually { pipeline.callbacks.deliveries(for: id).count == 1 })
        try await Task.sleep(for: .seconds(1))
        let deliveries = pipeline.callbacks.deliveries(for: id)
        #expect(deliveries.count == 1)
        let delivery = try #require(deliveries.first)
        let timestamp = try #require(delivery.timestamp)
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + delivery.body,
                                                  using: SymmetricKey(data: Array(InvoicesPipeline.webhookSecret.utf8)))
        #expect(delivery.signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        #expect(try pipeline.mails(containing: id).count == 1)
    }

    /// Named cases (the bytes are built here, so a failure report does not print them).
    static func garbage(_ name: String) -> (file: [UInt8], fileType: String) {
        name == "pdf" ? (Array("%PDF-1.7\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 4000), "application/pdf")
            : (Array(InvoiceFixtures.png.prefix(40)), "image/png")
    }

    @Test(arguments: ["pdf", "png"])
    func aFileWithAValidHeaderButGarbageInsideEndsRejected(kind: String) async throws {
        let (file, fileType) = Self.garbage(kind)
        try await pipeline.start()
        let ids = InvoicesPipeline.freshIDs()
        let created = try await pipeline.upload(sender: ids.sender, receiver: ids.consumer, file: file, fileType: fileType,
                                                notifyEmail: "nobody-\(ids.consumer)@example.com")
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.data["id"] as? String)
        let checked = try await pipeline.waitForStatus(["available", "rejected"], id: id, sender: ids.sender)
        #expect(checked["status"] as? String == "rejected")
        #expect((checked["rejection"] as? String)?.isEmpty == false)
        let consumer = [("Authorization", "consumer \(ids.consumer)")]
        let pay = try await HTTP.send("POST", "\(pipeline.base)/api/consumer/invoices/\(id)/pay", headers: consumer, body: nil)
        #expect(pay.status == 409)
        let download = try await HTTP.get("\(pipeline.base)/api/consumer/invoices/\(id)/file", headers: consumer)
        #expect(download.status == 409)
        #expect(try pipeline.mails(containing: id).isEmpty)
    }

    /// A 100 MiB multipart upload streams through ingest: its resident memory grows by less
    /// than 32 MiB while the whole file passes (sampled every 20 ms from /proc).
    @Test func aHundredMiBMultipartUploadKeepsIngestsMemoryFlat() async throws {
        try await pipeline.start()
        let ids = InvoicesPipeline.freshIDs()
        let ingest = await pipeline.service("ingest")
        let pid = ingest.process.processIdentifier
        func rss() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        let before = rss()
        let boundary = "switchyard-rss-test"
        let head = ByteBuffer(string: "--\(boundary)\r\nContent-Disposition: form-data; name=\"receiver_id\"\r\n\r\n\(ids.consumer)\r\n"
            + "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n")
        let tail = ByteBuffer(string: "\r\n--\(boundary)--\r\n")
        let mebibyte = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)
        let chunks = [head] + Array(repeating: mebibyte, count: 100) + [tail]
        let length = chunks.reduce(0) { $0 + $1.readableBytes }
        var request = HTTPClientRequest(url: "\(pipeline.base)/api/sender/invoices")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "sender \(ids.sender)")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        // The same 1 MiB buffer a hundred times: the test itself holds 1 MiB, not 100.
        let stream = AsyncStream<ByteBuffer> { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
        }
        request.body = .stream(stream, length: .known(Int64(length)))
        let sampling = Task {
            var peak = 0
            while !Task.isCancelled {
                peak = max(peak, rss())
                try? await Task.sleep(for: .milliseconds(20))
            }
            return peak
        }
        // A client of its own: the shared one gives up after 90 s without reading anything, and a
        // debug build's multipart parser (multipart-kit, unoptimised) takes about that long.
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(600))))
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(600))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        sampling.cancel()
        let peak = await sampling.value
        #expect(response.status.code == 201, "\(String(buffer: body))")
        let data = ((try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["size"] as? Int == 100 * (1 << 20) + 9)
        #expect(before > 0 && peak > 0)
        #expect(peak - before < 32 << 20, "ingest's RSS grew from \(before >> 20) MiB to \(peak >> 20) MiB")
    }

    /// Storage and processing are killed with SIGKILL while 200 uploads go in, and restarted:
    /// every upload that got its 201 ends `available`, none is lost.
    @Test func killingStorageAndProcessingDuring200UploadsLosesNone() async throws {
        try await pipeline.start()
        let ids = InvoicesPipeline.freshIDs()
        let storage = await pipeline.service("storage"), processing = await pipeline.service("processing")
        let accepted = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                for round in 0..<3 {
                    try await Task.sleep(for: .milliseconds(400))
                    (round % 2 == 0 ? storage : processing).crash()
                    try await Task.sleep(for: .milliseconds(300))
                    try (round % 2 == 0 ? storage : processing).restart()
                }
                return nil
            }
            for batch in 0..<10 {
                for _ in 0..<20 {
                    group.addTask {
                        let answer = try await pipeline.upload(sender: ids.sender, receiver: ids.consumer, file: InvoiceFixtures.png,
                                                               fileType: "image/png")
                        return answer.status == 201 ? answer.data["id"] as? String : nil
                    }
                }
                if batch % 2 == 1 { try await Task.sleep(for: .milliseconds(100)) }
            }
            return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
        }
        #expect(accepted.count == 200)
        try await storage.waitUntilReady()
        try await processing.waitUntilReady()
        for id in accepted {
            let checked = try await pipeline.waitForStatus(["available", "rejected"], id: id, sender: ids.sender, timeout: .seconds(120))
            #expect(checked["status"] as? String == "available", "\(id)")
        }
        let rows = try await PostgresPool(url: TestServers.databaseURL, size: 1)
            .query("SELECT count(*) AS n FROM invoices WHERE sender_id = $1 AND status = 'available'", [ids.sender])
        #expect(try rows.first?.decode("n", as: Int.self) == 200)
    }
}

private func SHA256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}
