import Foundation

/// An http(s) URL taken apart the way the outbound policy judges it. `host` is what the
/// request names (and what a TLS certificate must match); `address` is set when the host is
/// an address literal.
public struct OutboundTarget: Sendable, Equatable {
    public let url: String
    public let scheme: String
    /// Lower-cased, without IPv6 brackets or trailing dot.
    public let host: String
    public let port: Int
    public let address: IPAddress?

    /// `scheme://host:port`, the unit of the circuit breaker and of logs; an address in its
    /// canonical form, so that `2130706433` and `127.0.0.1` are one origin.
    public var origin: String {
        let canonical = address?.description ?? host
        let shown = canonical.contains(":") ? "[\(canonical)]" : canonical
        return "\(scheme)://\(shown):\(port)"
    }

    /// The URL without its query, fragment or credentials: callback URLs may carry tokens,
    /// and logs are read by more people than the client who chose them.
    public var redacted: String { Self.redact(url) }

    /// Takes a URL apart, refusing what is not an absolute http(s) URL with a usable host.
    public init(_ url: String) throws(OutboundRefusal) {
        // A URL is printable ASCII; checked first so that no parser gets to be lenient.
        guard url.utf8.count <= 2048, url.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }),
              let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", var host = components.percentEncodedHost, !host.isEmpty else {
            throw OutboundRefusal(.malformed, "expected an http or https URL with a host")
        }
        guard components.user == nil, components.password == nil else {
            throw OutboundRefusal(.malformed, "a URL with credentials in it is refused")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        host = host.lowercased()
        let address = IPAddress.literal(host)
        if address == nil {
            // A name: DNS letters, digits, hyphens and dots only (no percent-escapes that a
            // resolver would read differently), and not ending in a number.
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }),
                  !host.hasPrefix("."), !host.contains(".."), !IPAddress.looksNumeric(host) else {
                throw OutboundRefusal(.malformed, "\"\(host)\" is neither a host name nor an IP address")
            }
            if host.hasSuffix(".") { host.removeLast() }
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw OutboundRefusal(.malformed, "port \(port) is out of range") }
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = port
        self.address = address
    }

    /// `url` without userinfo, query and fragment (or a placeholder when it does not parse).
    public static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<unparsable URL>" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "<unparsable URL>"
    }
}
