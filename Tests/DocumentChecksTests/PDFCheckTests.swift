import DocumentChecks
import Foundation
import Testing

@Suite("Document checks: PDF through qpdf")
struct PDFCheckTests {
    typealias Fixtures = DocumentFixtures

    @Test func aOnePagePDFHasOnePage() async throws {
        let report = try await DocumentCheck.inspect(file: Fixtures.path("one-page.pdf"), as: .pdf)
        #expect(report == DocumentReport(kind: .pdf, pages: 1))
    }

    @Test func aThreePagePDFHasThreePages() async throws {
        let report = try await DocumentCheck.inspect(file: Fixtures.path("three-pages.pdf"), as: .pdf)
        #expect(report == DocumentReport(kind: .pdf, pages: 3))
    }

    /// The issue's acceptance case: the leading bytes pass ingest's check, the rest is noise.
    @Test func garbageAfterAValidHeaderIsRejected() async throws {
        var generator = SystemRandomNumberGenerator()
        let garbage = Array("%PDF-1.7\n".utf8) + (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let reason = try await Fixtures.rejection(of: garbage, as: .pdf)
        #expect(reason?.hasPrefix("PDF is damaged") == true, "\(reason ?? "accepted")")
    }

    @Test func aTruncatedPDFIsRejected() async throws {
        let whole = try Fixtures.bytes("three-pages.pdf")
        for length in [whole.count / 2, whole.count - 20] {
            let reason = try await Fixtures.rejection(of: Array(whole.prefix(length)), as: .pdf)
            #expect(reason?.hasPrefix("PDF is damaged") == true, "\(length) bytes: \(reason ?? "accepted")")
        }
    }

    /// Recovery is off: qpdf could rebuild the table by scanning, but a file that needs it is damaged.
    @Test func aWrongCrossReferenceOffsetIsRejectedNotRecovered() async throws {
        var bytes = try Fixtures.bytes("one-page.pdf")
        let start = try #require(bytes.offset(of: "startxref\n")) + "startxref\n".utf8.count
        bytes.replaceSubrange(start..<(start + 3), with: Array("123".utf8))
        let reason = try await Fixtures.rejection(of: bytes, as: .pdf)
        #expect(reason == "PDF is damaged: xref not found (at byte 123)")
    }

    /// qpdf_check_pdf alone passes this file: it writes a stream it cannot decode as raw bytes.
    @Test func aPageWhoseContentDoesNotDecodeIsRejected() async throws {
        var bytes = try Fixtures.bytes("one-page.pdf")
        let data = try #require(bytes.offset(of: "stream\n")) + "stream\n".utf8.count
        bytes[data] = 0  // the zlib header's first byte: "unknown compression method"
        bytes[data + 1] = 0
        let reason = try await Fixtures.rejection(of: bytes, as: .pdf)
        #expect(reason?.hasPrefix("PDF is damaged on page 1: error decoding stream data") == true, "\(reason ?? "accepted")")
    }

    @Test func aPDFWithoutPagesIsRejected() async throws {
        let reason = try await Fixtures.rejection(ofFileAt: Fixtures.path("no-pages.pdf"), as: .pdf)
        #expect(reason == "PDF has no pages")
    }

    @Test func morePagesThanTheLimitAreRejected() async throws {
        let limits = DocumentLimits(maxPDFPages: 2)
        let reason = try await Fixtures.rejection(ofFileAt: Fixtures.path("three-pages.pdf"), as: .pdf, limits: limits)
        #expect(reason == "PDF has 3 pages, more than the limit of 2")
    }

    @Test func aPDFThatNeedsAPasswordIsRejected() async throws {
        let reason = try await Fixtures.rejection(ofFileAt: Fixtures.path("password-protected.pdf"), as: .pdf)
        #expect(reason == "PDF is password-protected")
    }

    /// Encrypted with an empty user password: every reader opens it, so it is accepted.
    @Test func aPDFThatOpensWithoutAPasswordIsAcceptedThoughEncrypted() async throws {
        let report = try await DocumentCheck.inspect(file: Fixtures.path("owner-restricted.pdf"), as: .pdf)
        #expect(report.pages == 1)
    }

    @Test func textIsNotAPDF() async throws {
        let reason = try await Fixtures.rejection(of: Array(String(repeating: "not a PDF at all\n", count: 20).utf8), as: .pdf)
        #expect(reason == "not a PDF: no %PDF- header")
    }

    @Test func aPNGIsNotAPDF() async throws {
        let reason = try await Fixtures.rejection(ofFileAt: Fixtures.path("gradient-64x48.png"), as: .pdf)
        #expect(reason == "not a PDF: no %PDF- header")
    }

    /// The reason goes to the uploader: qpdf's full messages start with the file's path.
    @Test func reasonsDoNotNameThePath() async throws {
        let bytes = Array(try Fixtures.bytes("one-page.pdf").prefix(300))
        try await Fixtures.withFile(bytes, suffix: "pdf") { path in
            let reason = try #require(try await Fixtures.rejection(ofFileAt: path, as: .pdf))
            #expect(!reason.contains(path) && !reason.contains("document-check-"), "\(reason)")
        }
    }

    @Test func aMissingFileIsNotARejection() async throws {
        let path = "/nonexistent/\(UUID().uuidString).pdf"
        await #expect(throws: DocumentCheckError.unreadable(path: path, reason: "No such file or directory")) {
            try await DocumentCheck.inspect(file: path, as: .pdf)
        }
    }

    @Test func aDirectoryIsNotARejection() async throws {
        let path = FileManager.default.temporaryDirectory.path
        await #expect(throws: DocumentCheckError.unreadable(path: path, reason: "not a regular file")) {
            try await DocumentCheck.inspect(file: path, as: .pdf)
        }
    }
}
