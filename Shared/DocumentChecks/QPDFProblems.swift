import CQPDF

/// Turns what qpdf recorded on a handle (one error, any number of warnings) into the error
/// ``PDFCheck`` throws.
///
/// The reason names the first problem: warnings come before the error they led to, and the
/// first one is usually the cause ("can't find PDF header" before "can't find startxref").
/// It uses qpdf's message detail, never its full text, which starts with the file's path here.
enum QPDFProblems {
    /// The longest reason taken from qpdf's text (a damaged object may be quoted at length).
    private static let maxDetailLength = 200

    /// Throws when qpdf recorded an error or a warning since the handle was opened. `page`
    /// (from 1) names the page being checked.
    static func throwIfAny(_ qpdf: qpdf_data, onPage page: Int? = nil) throws {
        let error = qpdf_has_error(qpdf) != QPDF_FALSE ? qpdf_get_error(qpdf).map { Problem(qpdf, $0) } : nil
        var first: Problem?
        while first == nil, qpdf_more_warnings(qpdf) != QPDF_FALSE, let warning = qpdf_next_warning(qpdf) {
            first = Problem(qpdf, warning)
        }
        guard let first = first ?? error else { return }
        throw rejection(first: first, error: error, page: page)
    }

    private static func rejection(first: Problem, error: Problem?, page: Int?) -> any Error {
        // std::bad_alloc reaches the C API as an internal error with that text: the check could
        // not run, which says nothing about the file.
        if let error, error.code == qpdf_e_internal, error.detail.contains("bad_alloc") {
            return DocumentCheckError.outOfMemory(error.detail)
        }
        if error?.code == qpdf_e_password {
            return DocumentRejected(reason: "PDF is password-protected")
        }
        if first.detail == "can't find PDF header" {
            return DocumentRejected(reason: "not a PDF: no %PDF- header")
        }
        let what = switch first.code {
        case qpdf_e_unsupported: "PDF uses a feature that cannot be checked"
        case qpdf_e_pages: "PDF page tree is broken"
        default: "PDF is damaged"
        }
        let onPage = page.map { " on page \($0)" } ?? ""
        let at = first.position > 0 ? " (at byte \(first.position))" : ""
        return DocumentRejected(reason: "\(what)\(onPage): \(first.detail.prefix(maxDetailLength))\(at)")
    }

    /// One error or warning, copied out of the handle (qpdf reuses its memory on the next call).
    private struct Problem {
        let code: qpdf_error_code_e
        let detail: String
        let position: UInt64

        init(_ qpdf: qpdf_data, _ error: qpdf_error) {
            code = qpdf_get_error_code(qpdf, error)
            detail = qpdf_get_error_message_detail(qpdf, error).map { String(cString: $0) } ?? ""
            position = qpdf_get_error_file_position(qpdf, error)
        }
    }
}
