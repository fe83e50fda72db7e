/// What a check found in a sound file: the page count of a PDF, the dimensions of a PNG (the
/// other fields are nil).
public struct DocumentReport: Sendable, Equatable {
    public let kind: DocumentKind
    public let pages: Int?
    public let width: Int?
    public let height: Int?

    public init(kind: DocumentKind, pages: Int? = nil, width: Int? = nil, height: Int? = nil) {
        self.kind = kind
        self.pages = pages
        self.width = width
        self.height = height
    }
}
