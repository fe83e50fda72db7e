import DocumentChecks
import Foundation
import Testing

@Suite("Document checks: PNG through libspng")
struct PNGCheckTests {
    typealias Fixtures = DocumentFixtures

    @Test(arguments: [("gradient-64x48.png", 64, 48), ("interlaced-13x9.png", 13, 9), ("palette-10x7.png", 10, 7)])
    func aValidPNGReportsItsDimensions(name: String, width: Int, height: Int) async throws {
        let report = try await DocumentCheck.inspect(file: Fixtures.path(name), as: .png)
        #expect(report == DocumentReport(kind: .png, width: width, height: height))
    }

    /// libspng inflates image data as it reads it and checks the chunk's CRC at the chunk's
    /// end, so the broken zlib stream usually speaks first: either way the file is rejected.
    @Test func aFlippedByteInTheImageDataIsRejected() async throws {
        var bytes = try Fixtures.bytes("gradient-64x48.png")
        let idat = try #require(bytes.offset(of: "IDAT"))
        bytes[idat + 4 + 100] ^= 0x01
        let reason = try await Fixtures.rejection(of: bytes, as: .png)
        #expect(["PNG chunk CRC mismatch (the file is corrupted)", "PNG image data is corrupted: IDAT stream error"]
            .contains(reason), "\(reason ?? "accepted")")
    }

    /// Image data intact, its CRC wrong: only the CRC check can tell.
    @Test func aWrongCRCOnIntactImageDataIsACRCMismatch() async throws {
        var bytes = try Fixtures.bytes("gradient-64x48.png")
        let idat = try #require(bytes.offset(of: "IDAT"))
        let length = Int(bytes[idat - 4]) << 24 | Int(bytes[idat - 3]) << 16 | Int(bytes[idat - 2]) << 8 | Int(bytes[idat - 1])
        bytes[idat + 4 + length] ^= 0x01  // the CRC's first byte
        let reason = try await Fixtures.rejection(of: bytes, as: .png)
        #expect(reason == "PNG chunk CRC mismatch (the file is corrupted)")
    }

    /// libspng's default would skip an ancillary chunk with a bad CRC and accept the file.
    @Test func aFlippedByteInATextChunkIsACRCMismatchToo() async throws {
        var bytes = try Fixtures.bytes("gradient-64x48.png")
        let text = try #require(bytes.offset(of: "tEXt"))
        bytes[text + 4] ^= 0x20  // "Title" -> "title"
        let reason = try await Fixtures.rejection(of: bytes, as: .png)
        #expect(reason == "PNG chunk CRC mismatch (the file is corrupted)")
    }

    @Test func aTruncatedPNGIsRejected() async throws {
        let whole = try Fixtures.bytes("gradient-64x48.png")
        let iend = try #require(whole.offset(of: "IEND")) - 4  // where the IEND chunk starts
        for length in [0, 5, 20, 40, whole.count / 2, iend] {
            let reason = try await Fixtures.rejection(of: Array(whole.prefix(length)), as: .png)
            #expect(reason == "PNG is truncated", "\(length) bytes: \(reason ?? "accepted")")
        }
    }

    @Test func bytesAfterIENDAreTolerated() async throws {
        let bytes = try Fixtures.bytes("palette-10x7.png") + Array("trailing padding".utf8)
        #expect(try await Fixtures.rejection(of: bytes, as: .png) == nil)
    }

    /// The fixture's image data holds one row of the claimed 100000: decoding would fail on
    /// it, so a reason naming the size shows the header alone decided.
    @Test func aHugeClaimedSizeIsRejectedBeforeDecoding() async throws {
        let reason = try await Fixtures.rejection(ofFileAt: Fixtures.path("huge-100000x100000.png"), as: .png)
        #expect(reason == "PNG is 100000x100000 pixels, more than the limit of 100000000")
    }

    @Test func theDecodedSizeLimitIsCheckedBeforeDecodingToo() async throws {
        let limits = DocumentLimits(maxDecodedBytes: 64 * 48 * 4 - 1)
        let reason = try await Fixtures.rejection(ofFileAt: Fixtures.path("gradient-64x48.png"), as: .png, limits: limits)
        #expect(reason == "PNG decodes to 12288 bytes, more than the limit of 12287")
    }

    @Test func aPDFIsNotAPNG() async throws {
        let reason = try await Fixtures.rejection(ofFileAt: Fixtures.path("one-page.pdf"), as: .png)
        #expect(reason == "not a PNG: bad signature")
    }

    @Test func corruptedImageDataWithAValidCRCIsRejected() async throws {
        // Rebuilt IDAT: valid CRC over data that is not a zlib stream, so only decoding can tell.
        var bytes = try Fixtures.bytes("palette-10x7.png")
        let idat = try #require(bytes.offset(of: "IDAT"))
        let length = Int(bytes[idat - 4]) << 24 | Int(bytes[idat - 3]) << 16 | Int(bytes[idat - 2]) << 8 | Int(bytes[idat - 1])
        for index in (idat + 4)..<(idat + 4 + length) { bytes[index] = 0xFF }
        let crc = CRC32.of(bytes[idat..<(idat + 4 + length)])
        bytes.replaceSubrange((idat + 4 + length)..<(idat + 8 + length), with: withUnsafeBytes(of: crc.bigEndian, Array.init))
        let reason = try await Fixtures.rejection(of: bytes, as: .png)
        #expect(reason?.hasPrefix("PNG image data is corrupted") == true, "\(reason ?? "accepted")")
    }

    @Test func aMissingFileIsNotARejection() async throws {
        let path = "/nonexistent/\(UUID().uuidString).png"
        await #expect(throws: DocumentCheckError.unreadable(path: path, reason: "No such file or directory")) {
            try await DocumentCheck.inspect(file: path, as: .png)
        }
    }
}

/// The PNG chunk CRC (ISO 3309), for the one test that must forge a valid one.
enum CRC32 {
    static func of(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
