import CQPDF
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Checks a PDF with qpdf's C API, on the calling check thread (see ``CheckThreads``).
///
/// What "sound" means here, step by step, each failure a ``DocumentRejected``:
/// 1. qpdf opens it **without attempting recovery**: a file whose cross-reference table is
///    damaged or missing (a truncated upload, garbage after a valid header) is refused rather
///    than rebuilt by guesswork, since the receiver's viewer may guess differently.
/// 2. It opens without a password. An encrypted PDF that any reader opens (empty user
///    password, only printing or copying restricted) is accepted; one that needs a password is
///    rejected, since the receiver could not read it.
/// 3. It has at least one page and at most `maxPDFPages`.
/// 4. `qpdf_check_pdf` reads every object reachable from the trailer, as writing the file out
///    would (its output goes nowhere: no file is written).
/// 5. Every page's content streams decode (`qpdf_check_pdf` falls back to the raw bytes of a
///    stream it cannot decode without saying so; `qpdf --check` parses page contents too).
/// 6. Any warning qpdf issued along the way counts as damage too: with recovery off, its
///    warnings are about broken data it stepped around (an undecodable stream, a bad object).
///
/// Limits: qpdf decodes one page's content into memory at a time and cannot be interrupted
/// within one call; the page limit and the timeout bound the rest.
enum PDFCheck {
    static func inspect(file path: String, limits: DocumentLimits, abandonment: CheckAbandonment) throws -> DocumentReport {
        precondition(CheckThreads.isCurrentThreadACheckThread, "qpdf blocks: run it through CheckThreads")
        try ReadableFile.confirm(path)
        guard let qpdf = qpdf_init() else { throw DocumentCheckError.outOfMemory("qpdf_init failed") }
        defer {
            var handle: qpdf_data? = qpdf
            qpdf_cleanup(&handle)
        }
        // Problems are read from the handle below, never printed to the service's stderr.
        qpdf_silence_errors(qpdf)
        qpdf_set_suppress_warnings(qpdf, QPDF_TRUE)
        qpdf_set_attempt_recovery(qpdf, QPDF_FALSE)

        _ = qpdf_read(qpdf, path, nil)
        try QPDFProblems.throwIfAny(qpdf)
        try abandonment.stopIfAbandoned()

        let pages = Int(qpdf_get_num_pages(qpdf))
        try QPDFProblems.throwIfAny(qpdf)
        guard pages > 0 else { throw DocumentRejected(reason: "PDF has no pages") }
        guard pages <= limits.maxPDFPages else {
            throw DocumentRejected(reason: "PDF has \(pages) pages, more than the limit of \(limits.maxPDFPages)")
        }
        try abandonment.stopIfAbandoned()

        _ = qpdf_check_pdf(qpdf)
        try QPDFProblems.throwIfAny(qpdf)

        for index in 0..<pages {
            try abandonment.stopIfAbandoned()
            let page = qpdf_get_page_n(qpdf, index)
            var content: UnsafeMutablePointer<UInt8>?
            var length = 0
            _ = qpdf_oh_get_page_content_data(qpdf, page, &content, &length)
            free(content)  // malloc'ed by qpdf for us; only whether it decoded matters
            qpdf_oh_release(qpdf, page)
            try QPDFProblems.throwIfAny(qpdf, onPage: index + 1)
        }
        return DocumentReport(kind: .pdf, pages: pages)
    }
}
