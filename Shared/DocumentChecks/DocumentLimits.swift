/// Bounds on the work one check may do, so that a hostile file (a decompression bomb, a PDF
/// with a million pages) is refused instead of taking the service's memory or CPU.
public struct DocumentLimits: Sendable, Equatable {
    /// Most pixels (width x height) a PNG may have; checked from its header, before decoding.
    public var maxPixels: Int
    /// Most bytes a PNG may decode to as 8-bit RGBA (what a viewer allocates to show it), also
    /// checked before decoding. The check itself holds one row at a time.
    public var maxDecodedBytes: Int
    /// Most pages a PDF may have.
    public var maxPDFPages: Int
    /// How long a check may run once it has a thread (waiting for one does not count); past it
    /// the file is rejected as too costly to check. Nil: no limit.
    public var timeout: Duration?

    public init(maxPixels: Int = 100_000_000, maxDecodedBytes: Int = 400_000_000, maxPDFPages: Int = 10_000,
                timeout: Duration? = .seconds(30)) {
        self.maxPixels = maxPixels
        self.maxDecodedBytes = maxDecodedBytes
        self.maxPDFPages = maxPDFPages
        self.timeout = timeout
    }

    /// 100 million pixels (400 MB as RGBA), 10,000 pages, 30 seconds.
    public static let `default` = DocumentLimits()
}
