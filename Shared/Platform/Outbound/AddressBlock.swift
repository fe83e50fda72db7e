/// A CIDR block such as `10.0.0.0/8` or `fc00::/7`: what `OUTBOUND_ALLOW_CIDRS` lists, and
/// what the refused ranges are made of.
public struct AddressBlock: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    /// `a.b.c.d/n` or `v6/n`; a bare address is a block of one (``IPAddress/exactly(_:)``: a
    /// configuration value is written by an operator, who should write it plainly).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress.exactly(String(parts[0])) else { return nil }
        let width = address.width
        var length = width
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...width).contains(value), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = value
        }
        self.init(network: address, prefixLength: length)
    }

    init(network: IPAddress, prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    /// Whether `address` lies in the block (an IPv4 block holds only IPv4 addresses: the
    /// IPv4 that an IPv6 address carries is judged separately, as IPv4).
    public func contains(_ address: IPAddress) -> Bool {
        switch (network, address) {
        case (.v4(let base), .v4(let value)):
            guard prefixLength > 0 else { return true }
            let shift = UInt32(32 - prefixLength)
            return prefixLength == 32 ? base == value : base >> shift == value >> shift
        case (.v6(let base), .v6(let value)):
            guard prefixLength > 0 else { return true }
            let shift = UInt128(128 - prefixLength)
            return prefixLength == 128 ? base == value : base >> shift == value >> shift
        default:
            return false
        }
    }

    public var description: String { "\(network)/\(prefixLength)" }
}

extension IPAddress {
    var width: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }
}
