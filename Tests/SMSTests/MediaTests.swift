import Foundation
import Postgres
import TestSupport
import Testing

@Suite("SMS: media attachments", .serialized)
struct MediaTests {
    let pipeline = SMSPipeline.shared

    init() async throws { try await SMSPipeline.shared.start() }

    /// A small, real PNG (1x1), made distinct per test by a trailing text chunk.
    static func png(tag: String = UUID().uuidString) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
         0x1F, 0x15, 0xC4, 0x89] + Array("tEXt\(tag)".utf8)
    }

    func newMessage() async throws -> String {
        try #require(try await pipeline.submit().data["id"] as? String)
    }

    func upload(_ bytes: [UInt8], to id: String, contentType: String = "image/png") async throws -> HTTP.Answer {
        try await HTTP.send("POST", "\(pipeline.base)/messages/\(id)/media", headers: [("Content-Type", contentType)], body: bytes)
    }

    @Test func imageIsStoredOnceHoweverOftenItIsAttached() async throws {
        let bytes = Self.png()
        let first = try await newMessage()
        let second = try await newMessage()
        let created = try await upload(bytes, to: first)
        #expect(created.status == 201, "\(created.text)")
        let sha = try #require(created.data["sha256"] as? String)
        #expect(created.data["content_type"] as? String == "image/png")
        #expect(created.data["size"] as? Int == bytes.count)
        #expect(created.data["url"] as? String == "/media/\(sha)")
        #expect(try await upload(bytes, to: first).status == 200)   // same message again: existing attachment
        #expect(try await upload(bytes, to: second).status == 201)  // another message: a new link, not a new copy

        let rows = try await pipeline.database.query("SELECT count(*) AS n FROM media WHERE sha256 = $1", [sha])
        #expect(try rows[0].decode("n", as: Int.self) == 1)
        let links = try await pipeline.database.query("SELECT count(*) AS n FROM sms_message_media WHERE sha256 = $1", [sha])
        #expect(try links[0].decode("n", as: Int.self) == 2)

        let listed = try await HTTP.get("\(pipeline.base)/messages/\(first)/media")
        #expect((listed.data["items"] as? [[String: Any]])?.compactMap { $0["sha256"] as? String } == [sha])
        _ = try await pipeline.waitForStatus("processed", id: first)
        let message = try await HTTP.get("\(pipeline.base)/messages/\(first)")
        #expect((message.data["media"] as? [[String: Any]])?.count == 1)

        let download = try await HTTP.get("\(pipeline.base)/media/\(sha)")
        #expect(download.status == 200)
        #expect(download.body == bytes)
        #expect(download.headers.first(name: "Content-Type") == "image/png")
        #expect(download.headers.first(name: "Cache-Control") == "public, max-age=31536000, immutable")
        let etag = try #require(download.headers.first(name: "ETag"))
        #expect(try await HTTP.get("\(pipeline.base)/media/\(sha)", headers: [("If-None-Match", etag)]).status == 304)
    }

    @Test func multipartUploadUsesTheFileField() async throws {
        let id = try await newMessage()
        let bytes = Self.png()
        let boundary = "switchyard-\(UUID().uuidString)"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += bytes + Array("\r\n--\(boundary)--\r\n".utf8)
        let answer = try await HTTP.send("POST", "\(pipeline.base)/messages/\(id)/media",
                                         headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body)
        #expect(answer.status == 201, "\(answer.text)")
        #expect(answer.data["size"] as? Int == bytes.count)
    }

    @Test func nonImagesAreRefusedByTheirBytesNotTheirLabel() async throws {
        let id = try await newMessage()
        let pdf = Array("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".utf8)
        let refusedPDF = try await upload(pdf, to: id, contentType: "application/pdf")
        #expect(refusedPDF.status == 415)
        #expect(refusedPDF.error["code"] as? String == "unsupported_media_type")
        let liar = try await upload(Array("just some text, honest".utf8), to: id, contentType: "image/png")
        #expect(liar.status == 415)
    }

    @Test func oversizeUploadIsRefused() async throws {
        let id = try await newMessage()
        let tooBig = Self.png() + [UInt8](repeating: 0, count: SMSPipeline.mediaMaxBytes)
        let answer = try await upload(tooBig, to: id)
        #expect(answer.status == 413)
        #expect(answer.error["code"] as? String == "payload_too_large")
    }

    @Test func unknownMessageOrMediaIs404() async throws {
        let unknown = UUID().uuidString.lowercased()
        #expect(try await upload(Self.png(), to: unknown).status == 404)
        #expect(try await HTTP.get("\(pipeline.base)/messages/\(unknown)/media").status == 404)
        #expect(try await HTTP.get("\(pipeline.base)/media/\(String(repeating: "ab", count: 32))").status == 404)
    }
}
