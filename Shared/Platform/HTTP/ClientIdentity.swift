import HTTPTypes
import Hummingbird
import NIOCore

/// Who a request comes from, for limits that a client must not be able to sidestep: the
/// authenticated caller when the request names one and it is proven (`principal:sender:42`,
/// `AUTH_MODE=jwt`: a signed token), else the address it connected from (`address:192.0.2.7`).
/// In `AUTH_MODE=dev` the `Authorization` header is the client's word (`sender 42`), so a
/// client naming a new sender on each request would get a fresh quota each time: there the
/// address counts.
///
/// The address is the socket's. `X-Forwarded-For` is read only when the socket's peer is in
/// `TRUSTED_PROXIES` (comma-separated addresses or CIDRs, empty by default): any client can write
/// that header, so trusting it by default would let each request claim a new address. Behind
/// trusted proxies, the client is the rightmost address in the header that is not itself a
/// trusted proxy (each proxy appends the peer it saw; entries left of it are the client's word).
public struct ClientIdentity: Sendable {
    let trustedProxies: [AddressBlock]
    /// Whether an authenticated principal is proven (a signed token) and so may carry the limit.
    let principalsAreProven: Bool

    /// No trusted proxies; `principalsAreProven` as `AUTH_MODE=jwt` would have it by default.
    public init(principalsAreProven: Bool = true) {
        trustedProxies = []
        self.principalsAreProven = principalsAreProven
    }

    public init(environment: EnvironmentReader) throws {
        let mode = try environment.oneOf("AUTH_MODE", default: CallerAuthenticator.Mode.dev.rawValue,
                                         allowed: CallerAuthenticator.Mode.allCases.map(\.rawValue))
        principalsAreProven = mode == CallerAuthenticator.Mode.jwt.rawValue
        let text = environment.string("TRUSTED_PROXIES", default: "")
        trustedProxies = try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { entry in
            guard let range = AddressBlock(Self.normalized(entry)) else {
                throw ConfigurationError(variable: "TRUSTED_PROXIES", problem: "expected comma-separated IP addresses or CIDRs (10.0.0.0/8), got \"\(entry)\"")
            }
            return range
        }
    }

    func isTrusted(_ address: String) -> Bool {
        guard let address = IPAddress.exactly(address) else { return false }
        return trustedProxies.contains { $0.contains(address) }
    }

    /// The key of the client's limits; nil when neither a caller nor an address is known
    /// (a request made in-process, with no socket).
    public func key(principal: Principal?, peer: SocketAddress?, headers: HTTPFields) -> String? {
        if let principal, principalsAreProven { return "principal:\(principal)" }
        guard let address = peer?.ipAddress.map(Self.normalized) else { return nil }
        return "address:" + Self.limitedUnit(forwardedClient(peer: address, headers: headers))
    }

    /// What one client's limit covers: an IPv4 address, or an IPv6 address's /64. A client on
    /// IPv6 usually holds a whole /64 and could take a fresh address for every request.
    static func limitedUnit(_ address: String) -> String {
        guard case .v6(let value)? = IPAddress.exactly(address) else { return address }
        return IPAddress.v6((value >> 64) << 64).description + "/64"
    }

    /// The peer itself unless it is a trusted proxy that says whom it forwarded.
    func forwardedClient(peer: String, headers: HTTPFields) -> String {
        guard isTrusted(peer) else { return peer }
        let hops = headers[values: .xForwardedFor].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            // A malformed entry ends the walk: nothing left of it can be believed either.
            guard let address = (try? SocketAddress(ipAddress: hop, port: 0))?.ipAddress.map(Self.normalized) else { return peer }
            if !isTrusted(address) { return address }
        }
        return peer
    }

    /// An IPv4 client seen through an IPv6 socket (`::ffff:192.0.2.7`) is the same client.
    static func normalized(_ address: String) -> String {
        address.lowercased().hasPrefix("::ffff:") && address.contains(".") ? String(address.dropFirst(7)) : address
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
