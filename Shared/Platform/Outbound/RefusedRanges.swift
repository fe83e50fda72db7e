/// The address ranges no outbound request may reach unless `OUTBOUND_ALLOW_CIDRS` lists
/// them: everything that is not the public internet, where a request sent on a client's behalf
/// would reach our own services, the cloud's metadata endpoint or a neighbour's network.
/// (IANA special-purpose registries; each with the name a refusal gives.)
enum RefusedRanges {
    static let all: [(block: AddressBlock, name: String)] = [
        ("0.0.0.0/8", "unspecified (\"this network\")"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("255.255.255.255/32", "broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("100::/64", "discard-only"),
        ("2001:db8::/32", "documentation"),
        ("2001:10::/28", "ORCHID"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    ].map { (AddressBlock($0.0)!, $0.1) }

    /// Why `address` is refused, or nil when it is a public address. An IPv6 address that
    /// carries an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is refused when that
    /// IPv4 address would be.
    static func reason(for address: IPAddress) -> String? {
        if let range = all.first(where: { $0.block.contains(address) }) { return range.name }
        if let embedded = address.embeddedIPv4, let inner = reason(for: .v4(embedded)) {
            return "\(inner), embedded in an IPv6 address"
        }
        return nil
    }
}
