/// Checks an uploaded file with a real parser: qpdf for a PDF, libspng for a PNG.
public enum DocumentCheck {
    /// Reads the file at `path` as a `kind` and reports what it holds.
    ///
    /// The parser runs on a thread of its own (never an event loop or Swift's cooperative pool;
    /// see ``CheckThreads``), and this waits for it without holding a thread.
    ///
    /// - Throws: ``DocumentRejected`` when the file is bad (its fault: not a `kind`, damaged,
    ///   truncated, over `limits`, too costly to check within `limits.timeout`), with a reason
    ///   fit for the uploader; ``DocumentCheckError`` when the check could not run (the file
    ///   cannot be read, memory ran out, the caller was cancelled), which a retry may cure.
    public static func inspect(file path: String, as kind: DocumentKind, limits: DocumentLimits = .default) async throws -> DocumentReport {
        try await CheckThreads.run(timeout: limits.timeout) { abandonment in
            switch kind {
            case .pdf: try PDFCheck.inspect(file: path, limits: limits, abandonment: abandonment)
            case .png: try PNGCheck.inspect(file: path, limits: limits, abandonment: abandonment)
            }
        }
    }
}
