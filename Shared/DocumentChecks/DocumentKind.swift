/// The kinds of file a document check understands, each read by its own parser.
public enum DocumentKind: String, Sendable {
    case pdf, png
}
