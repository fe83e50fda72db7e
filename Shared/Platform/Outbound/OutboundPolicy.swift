import Foundation

/// Where a request sent on a client's behalf (a callback, later an invoice's callback) may go:
/// http or https only, a port of `CALLBACK_ALLOWED_PORTS`, and an address on the public
/// internet (see ``RefusedRanges``), or one of `OUTBOUND_ALLOW_CIDRS`. The same policy judges
/// a URL twice: at submission what can be known then (the scheme, the port, an address written
/// literally in any notation), and at delivery the addresses the name resolves to, every one
/// of them, returning the one to connect to so that nothing looks the name up again.
public struct OutboundPolicy: Sendable {
    /// Blocks exempt from the refused ranges, and from the port rule (they are the operator's own
    /// receivers, such as the test set-up's on loopback).
    public let allowedBlocks: [AddressBlock]
    public let allowedPorts: Set<Int>
    let resolver: HostResolver

    public init(allowedBlocks: [AddressBlock] = [], allowedPorts: Set<Int> = [80, 443], resolver: HostResolver = HostResolver()) {
        self.allowedBlocks = allowedBlocks
        self.allowedPorts = allowedPorts
        self.resolver = resolver
    }

    /// `OUTBOUND_ALLOW_CIDRS` (comma-separated CIDRs, none by default) and
    /// `CALLBACK_ALLOWED_PORTS` (comma-separated ports, `80,443` by default).
    public init(environment: EnvironmentReader, resolver: HostResolver = HostResolver()) throws {
        var blocks: [AddressBlock] = []
        for item in environment.string("OUTBOUND_ALLOW_CIDRS", default: "").split(separator: ",") {
            let text = item.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let block = AddressBlock(text) else {
                throw ConfigurationError(variable: "OUTBOUND_ALLOW_CIDRS",
                                         problem: "expected comma-separated CIDRs such as 127.0.0.1/32,fd00::/8, got \"\(text)\"")
            }
            blocks.append(block)
        }
        let portsText = environment.string("CALLBACK_ALLOWED_PORTS", default: "80,443")
        var ports = Set<Int>()
        for item in portsText.split(separator: ",", omittingEmptySubsequences: false) {
            guard let port = Int(item.trimmingCharacters(in: .whitespaces)), (1...65535).contains(port) else {
                throw ConfigurationError(variable: "CALLBACK_ALLOWED_PORTS",
                                         problem: "expected comma-separated ports in 1...65535 such as 80,443, got \"\(portsText)\"")
            }
            ports.insert(port)
        }
        self.init(allowedBlocks: blocks, allowedPorts: ports, resolver: resolver)
    }

    /// What can be judged without DNS: the URL's form, a literal address, and the port (unless
    /// an allowed block might still exempt a name from it). Submission calls this.
    @discardableResult
    public func checkWithoutResolving(_ url: String) throws(OutboundRefusal) -> OutboundTarget {
        let target = try OutboundTarget(url)
        if let address = target.address {
            try check(address, of: target)
        } else if allowedBlocks.isEmpty {
            try checkPort(of: target)
        }
        return target
    }

    /// Everything: resolves a name and checks each address it resolves to (one refused address
    /// refuses the URL: a name that also points inside is not one to trust). Returns the
    /// address to connect to. Delivery calls this.
    public func resolve(_ url: String) async throws(OutboundRefusal) -> (target: OutboundTarget, address: IPAddress) {
        let target = try OutboundTarget(url)
        if let address = target.address {
            try check(address, of: target)
            return (target, address)
        }
        let addresses = try await resolver.addresses(of: target.host)
        for address in addresses { try check(address, of: target) }
        // IPv4 first: reachable from every network this runs in.
        let chosen = addresses.first { if case .v4 = $0 { true } else { false } } ?? addresses[0]
        return (target, chosen)
    }

    func isAllowed(_ address: IPAddress) -> Bool {
        allowedBlocks.contains { block in
            block.contains(address) || address.embeddedIPv4.map { inner in block.contains(.v4(inner)) } == true
        }
    }

    private func check(_ address: IPAddress, of target: OutboundTarget) throws(OutboundRefusal) {
        if isAllowed(address) { return }
        if let reason = RefusedRanges.reason(for: address) {
            let named = target.address == nil ? "\(target.host) resolves to \(address)" : "\(address)"
            throw OutboundRefusal(.address, "\(named), a \(reason) address")
        }
        try checkPort(of: target)
    }

    private func checkPort(of target: OutboundTarget) throws(OutboundRefusal) {
        guard allowedPorts.contains(target.port) else {
            throw OutboundRefusal(.port, "port \(target.port) is not one of CALLBACK_ALLOWED_PORTS (\(allowedPorts.sorted().map(String.init).joined(separator: ",")))")
        }
    }
}
