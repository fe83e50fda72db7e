import CSPNG
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Checks a PNG with libspng, on the calling check thread (see ``CheckThreads``).
///
/// Signature and header first; then the size limits, from the header alone, before a single
/// pixel is decoded (a 100000x100000 image is a few hundred bytes of file); then the whole image
/// is decoded row by row into one reused row buffer, so memory stays at one row whatever the
/// file claims; then the chunks after the image data up to IEND. Every chunk's CRC is verified,
/// ancillary chunks' too (libspng's default skips an ancillary chunk with a bad CRC), and so is
/// the zlib stream's Adler-32. Bytes after IEND are not read: some encoders leave padding there.
enum PNGCheck {
    /// Most bytes of ancillary chunks (text, ICC profile, Exif) kept while decoding, per chunk
    /// and in all: far above what an invoice carries, far below what would strain memory.
    private static let metadataBytes = 16 << 20

    static func inspect(file path: String, limits: DocumentLimits, abandonment: CheckAbandonment) throws -> DocumentReport {
        precondition(CheckThreads.isCurrentThreadACheckThread, "libspng blocks: run it through CheckThreads")
        let file = try ReadableFile.open(path)
        defer { fclose(file) }
        guard let context = spng_ctx_new(0) else { throw DocumentCheckError.outOfMemory("spng_ctx_new failed") }
        defer { spng_ctx_free(context) }

        let crcError = Int32(SPNG_CRC_ERROR.rawValue)
        try check(spng_set_crc_action(context, crcError, crcError), path: path)
        try check(spng_set_chunk_limits(context, metadataBytes, metadataBytes), path: path)
        try check(spng_set_png_file(context, file), path: path)

        var header = spng_ihdr()
        try check(spng_get_ihdr(context, &header), path: path)
        let (width, height) = (Int(header.width), Int(header.height))
        guard width * height <= limits.maxPixels else {  // both below 2^31: no overflow
            throw DocumentRejected(reason: "PNG is \(width)x\(height) pixels, more than the limit of \(limits.maxPixels)")
        }
        // Decoded as 8-bit RGBA whatever the colour type and depth: libspng converts every PNG
        // format to it, which exercises the whole decoder (palette, transparency, 16-bit).
        let format = Int32(SPNG_FMT_RGBA8.rawValue)
        var imageBytes = 0
        try check(spng_decoded_image_size(context, format, &imageBytes), path: path)
        guard imageBytes <= limits.maxDecodedBytes else {
            throw DocumentRejected(reason: "PNG decodes to \(imageBytes) bytes, more than the limit of \(limits.maxDecodedBytes)")
        }

        try check(spng_decode_image(context, nil, 0, format, Int32(SPNG_DECODE_PROGRESSIVE.rawValue)), path: path)
        var row = [UInt8](repeating: 0, count: imageBytes / height)
        var status: Int32
        repeat {
            try abandonment.stopIfAbandoned()
            status = row.withUnsafeMutableBytes { spng_decode_row(context, $0.baseAddress, $0.count) }
        } while status == 0
        // The last row comes back with SPNG_EOI; anything else is an error.
        guard status == Int32(SPNG_EOI.rawValue) else { throw error(for: status, path: path) }
        // The chunks after the image data, up to IEND: their CRCs too, and a file cut off right
        // after its image data is truncated.
        try check(spng_decode_chunks(context), path: path)
        return DocumentReport(kind: .png, width: width, height: height)
    }

    /// Throws the error for a libspng status (nothing for 0).
    private static func check(_ status: Int32, path: String) throws {
        guard status != 0 else { return }
        throw error(for: status, path: path)
    }

    private static func error(for status: Int32, path: String) -> any Error {
        switch spng_errno(rawValue: status) {
        case SPNG_IO_ERROR, SPNG_EIO:
            return DocumentCheckError.unreadable(path: path, reason: "read error")
        case SPNG_EMEM:
            return DocumentCheckError.outOfMemory("libspng could not allocate")
        case SPNG_ESIGNATURE:
            return DocumentRejected(reason: "not a PNG: bad signature")
        case SPNG_IO_EOF, SPNG_EOF, SPNG_EIDAT_TOO_SHORT:
            return DocumentRejected(reason: "PNG is truncated")
        case SPNG_ECHUNK_CRC:
            return DocumentRejected(reason: "PNG chunk CRC mismatch (the file is corrupted)")
        case SPNG_EZLIB, SPNG_EIDAT_STREAM, SPNG_EFILTER:
            return DocumentRejected(reason: "PNG image data is corrupted: \(description(of: status))")
        case SPNG_ECHUNK_LIMITS:
            return DocumentRejected(reason: "PNG carries more than \(metadataBytes >> 20) MiB of metadata")
        default:
            return DocumentRejected(reason: "PNG is invalid: \(description(of: status))")
        }
    }

    /// libspng's fixed text for a status ("invalid chunk checksum"): nothing from the file in it.
    private static func description(of status: Int32) -> String {
        String(cString: spng_strerror(status))
    }
}
