import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// The media routes' edge cases in-process (no socket, no service process), next to the
/// end-to-end `MediaTests`, which keep proving the same answers through a real ingest (and the
/// limits that only a socket can show: a 413 before the body is sent, a chunked body cut off).
@Suite("SMS: media routes in-process")
struct SMSMediaRoutesTests {
    let publisher = InMemoryPublisher()

    /// A message accepted in-process (its `received` copy in Redis is what media attach to).
    func newMessage(_ client: some TestClientProtocol) async throws -> String {
        try await client.execute(uri: "/messages", method: .post, headers: [.contentType: "application/json"],
                                 body: SMSRoutesTests.submission()) { response in
            #expect(response.status == .accepted)
            let data = SMSRoutesTests.json(response.body)["data"] as? [String: Any]
            return try #require(data?["id"] as? String)
        }
    }

    func upload(_ bytes: [UInt8], to id: String, contentType: String = "image/png",
                _ client: some TestClientProtocol) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        try await client.execute(uri: "/messages/\(id)/media", method: .post, headers: [.contentType: contentType],
                                 body: ByteBuffer(bytes: bytes)) { response in
            (response.status, SMSRoutesTests.json(response.body))
        }
    }

    static func errorCode(_ body: [String: Any]) -> String? { (body["error"] as? [String: Any])?["code"] as? String }

    /// What the bytes are decides, not the label: a PDF, text called a PNG, and files that only
    /// start like an image are 415; whole images of each kind are 201 with their real type.
    @Test func onlyWholeImagesAreAcceptedWhateverTheirLabel() async throws {
        try await SMSRoutesTests.app(publisher: publisher).test(.router) { client in
            let id = try await newMessage(client)
            let refused: [(String, String, [UInt8])] = [
                ("a PDF", "application/pdf", Array("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".utf8)),
                ("text labelled PNG", "image/png", Array("just some text, honest".utf8)),
                ("JPEG magic then a script", "image/jpeg", [0xFF, 0xD8, 0xFF] + Array("<script>alert(1)</script>".utf8)),
                ("PNG signature then HTML", "image/png", Array(MediaTests.png().prefix(8)) + Array("<html></html>".utf8)),
                ("PNG cut before IEND", "image/png", Array(MediaTests.png().dropLast(12))),
                ("GIF header, no trailer", "image/gif", Array("GIF89a<?php system($_GET[0]); ?>".utf8)),
            ]
            for (what, type, bytes) in refused {
                let answer = try await upload(bytes, to: id, contentType: type, client)
                #expect(answer.status == .unsupportedMediaType, "\(what): \(answer.status)")
                #expect(Self.errorCode(answer.body) == "unsupported_media_type", "\(what)")
            }
            let gif: [UInt8] = Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0] + Array(UUID().uuidString.utf8) + [0x3B]
            for (type, bytes) in [("image/png", MediaTests.png()), ("image/gif", gif)] {
                let answer = try await upload(bytes, to: id, contentType: "application/octet-stream", client)
                #expect(answer.status == .created, "\(type)")
                #expect((answer.body["data"] as? [String: Any])?["content_type"] as? String == type)
            }
        }
    }

    @Test func multipartNeedsAPartNamedFileNotAFilenameCalledFile() async throws {
        try await SMSRoutesTests.app(publisher: publisher).test(.router) { client in
            let id = try await newMessage(client)
            let boundary = "switchyard-\(UUID().uuidString)"
            func body(disposition: String) -> [UInt8] {
                Array("--\(boundary)\r\nContent-Disposition: form-data; \(disposition)\r\nContent-Type: image/png\r\n\r\n".utf8)
                    + MediaTests.png() + Array("\r\n--\(boundary)--\r\n".utf8)
            }
            let type = "multipart/form-data; boundary=\(boundary)"
            let wrong = try await upload(body(disposition: #"name="avatar"; filename="file""#), to: id, contentType: type, client)
            #expect(wrong.status == .badRequest)
            #expect(Self.errorCode(wrong.body) == "missing_file")
            let right = try await upload(body(disposition: #"name="file"; filename="a.png""#), to: id, contentType: type, client)
            #expect(right.status == .created)
        }
    }

    @Test func aBodyOverTheLimitIs413() async throws {
        try await SMSRoutesTests.app(publisher: publisher).test(.router) { client in
            let id = try await newMessage(client)
            // The suite's ingest runs with the default MEDIA_MAX_BYTES (5 MiB).
            let answer = try await upload(MediaTests.png() + [UInt8](repeating: 0, count: 5 * 1024 * 1024), to: id, client)
            #expect(answer.status == .contentTooLarge)
            #expect(Self.errorCode(answer.body) == "payload_too_large")
        }
    }

    @Test func downloadsAnswerRangesAndConditionalRequests() async throws {
        try await SMSRoutesTests.app(publisher: publisher).test(.router) { client in
            let id = try await newMessage(client)
            let bytes = MediaTests.png(padding: 70_000)
            let uploaded = try await upload(bytes, to: id, client)
            let sha = try #require((uploaded.body["data"] as? [String: Any])?["sha256"] as? String)
            let etag = try await client.execute(uri: "/media/\(sha)", method: .get) { response in
                #expect(response.status == .ok)
                let same = Array(response.body.readableBytesView) == bytes
                #expect(same)
                #expect(response.headers[.acceptRanges] == "bytes")
                return try #require(response.headers[.eTag])
            }
            try await client.execute(uri: "/media/\(sha)", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
            }
            try await client.execute(uri: "/media/\(sha)", method: .get, headers: [.range: "bytes=0-9"]) { response in
                #expect(response.status == .partialContent)
                let head = Array(response.body.readableBytesView) == Array(bytes[0...9])
                #expect(head)
                #expect(response.headers[.contentRange] == "bytes 0-9/\(bytes.count)")
            }
            try await client.execute(uri: "/media/\(sha)", method: .get, headers: [.range: "bytes=-12"]) { response in
                #expect(response.status == .partialContent)
                let tail = Array(response.body.readableBytesView) == Array(bytes.suffix(12))
                #expect(tail)
            }
            try await client.execute(uri: "/media/\(sha)", method: .get, headers: [.range: "bytes=\(bytes.count)-"]) { response in
                #expect(response.status == .rangeNotSatisfiable)
                #expect(response.headers[.contentRange] == "bytes */\(bytes.count)")
            }
        }
    }

    /// A media name that is not a lower-case SHA-256 cannot name anything: 404, like an unknown one.
    @Test func unknownMessagesAndMediaAre404() async throws {
        try await SMSRoutesTests.app(publisher: publisher).test(.router) { client in
            let unknown = UUID().uuidString.lowercased()
            #expect(try await upload(MediaTests.png(), to: unknown, client).status == .notFound)
            try await client.execute(uri: "/messages/\(unknown)/media", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/media/\(String(repeating: "ab", count: 32))", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/media/not-a-hash", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/media/\(String(repeating: "AB", count: 32))", method: .get) { #expect($0.status == .notFound) }
        }
        #expect(publisher.sent.isEmpty)
    }
}
