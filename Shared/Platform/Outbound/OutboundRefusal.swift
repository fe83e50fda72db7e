/// Why the outbound policy refuses a URL: the one error every caller of ``OutboundPolicy``
/// sees. Its description is safe to show a client and to log (it names the host and the
/// address, never the URL's query or credentials).
public struct OutboundRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not an absolute http(s) URL with a host, or a host that is neither a name nor an address.
        case malformed
        /// A port outside `CALLBACK_ALLOWED_PORTS`.
        case port
        /// An address in a refused range (loopback, private, link-local, ...).
        case address
        /// The name did not resolve (or resolved to nothing usable).
        case unresolvable
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "outbound request refused: \(reason)" }
}
