import HTTPTypes
import Hummingbird
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Who a request comes from, for limits that a client must not be able to sidestep: the
/// authenticated caller when the request names one (`principal:sender:42`), else the
/// address it connected from (`address:192.0.2.7`).
///
/// The address is the socket's. `X-Forwarded-For` is read only when the socket's peer is in
/// `TRUSTED_PROXIES` (comma-separated addresses or CIDRs, empty by default): any client can write
/// that header, so trusting it by default would let each request claim a new address. Behind
/// trusted proxies, the client is the rightmost address in the header that is not itself a
/// trusted proxy (each proxy appends the peer it saw; entries left of it are the client's word).
public struct ClientIdentity: Sendable {
    let trustedProxies: [ProxyRange]

    public init() {
        trustedProxies = []
    }

    public init(environment: EnvironmentReader) throws {
        let text = environment.string("TRUSTED_PROXIES", default: "")
        trustedProxies = try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { entry in
            guard let range = ProxyRange(entry) else {
                throw ConfigurationError(variable: "TRUSTED_PROXIES", problem: "expected comma-separated IP addresses or CIDRs (10.0.0.0/8), got \"\(entry)\"")
            }
            return range
        }
    }

    func isTrusted(_ address: String) -> Bool {
        guard let bytes = ProxyRange.bytes(of: address) else { return false }
        return trustedProxies.contains { $0.contains(bytes) }
    }

    /// The key of the client's limits; nil when neither a caller nor an address is known
    /// (a request made in-process, with no socket).
    public func key(principal: Principal?, peer: SocketAddress?, headers: HTTPFields) -> String? {
        if let principal { return "principal:\(principal)" }
        guard let address = peer?.ipAddress.map(Self.normalized) else { return nil }
        return "address:" + Self.limitedUnit(forwardedClient(peer: address, headers: headers))
    }

    /// What one client's limit covers: an IPv4 address, or an IPv6 address's /64. A client on
    /// IPv6 usually holds a whole /64 and could take a fresh address for every request.
    static func limitedUnit(_ address: String) -> String {
        guard address.contains(":"), let bytes = ProxyRange.bytes(of: address), bytes.count == 16 else { return address }
        return bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: ".") + "/64"
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

/// An address or a CIDR of trusted proxies (IPv4 or IPv6).
struct ProxyRange: Sendable {
    let network: [UInt8]
    let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let network = Self.bytes(of: ClientIdentity.normalized(String(parts[0]))) else { return nil }
        let bits = network.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...bits).contains(length), parts[1].allSatisfy(\.isNumber) else { return nil }
            prefixLength = length
        } else {
            prefixLength = bits
        }
        self.network = network
    }

    func contains(_ address: [UInt8]) -> Bool {
        guard address.count == network.count else { return false }
        for bit in 0..<prefixLength where (address[bit / 8] ^ network[bit / 8]) & (0x80 >> UInt8(bit % 8)) != 0 { return false }
        return true
    }

    /// 4 bytes for an IPv4 address, 16 for IPv6; nil for anything else.
    static func bytes(of address: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
