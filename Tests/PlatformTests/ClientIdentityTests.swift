import HTTPTypes
import NIOCore
import Platform
import Testing

/// Issue 12 item 9: whom a per-client limit counts.
@Suite("Platform: client identity")
struct ClientIdentityTests {
    let peer = try! SocketAddress(ipAddress: "127.0.0.1", port: 50_000)
    let forwarded: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "198.51.100.7, 203.0.113.9"]

    @Test func theCallerWhenThereIsOne() throws {
        let caller = try #require(Principal(role: "sender", id: "42"))
        #expect(ClientIdentity().key(principal: caller, peer: peer, headers: forwarded) == "principal:sender:42")
        let jwt = try ClientIdentity(environment: EnvironmentReader(["AUTH_MODE": "jwt"]))
        #expect(jwt.key(principal: caller, peer: peer, headers: forwarded) == "principal:sender:42")
    }

    /// In `AUTH_MODE=dev` anyone may write `Authorization: sender <any id>`: a claimed caller
    /// per request must not mean a fresh quota per request, so the address counts.
    @Test func aClaimedCallerInDevModeIsCountedByAddress() throws {
        let caller = try #require(Principal(role: "sender", id: "42"))
        let dev = try ClientIdentity(environment: EnvironmentReader([:]))
        #expect(dev.key(principal: caller, peer: peer, headers: forwarded) == "address:127.0.0.1")
        #expect(dev.key(principal: Principal(role: "sender", id: "43"), peer: peer, headers: [:]) == "address:127.0.0.1")
    }

    /// An IPv6 client usually holds a /64: every address in it is one client, or a fresh address
    /// per request would get past the limit.
    @Test func anIPv6ClientIsItsSlash64() throws {
        let one = try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1)
        let sibling = try SocketAddress(ipAddress: "2001:db8:1:2:ffff:eeee:dddd:cccc", port: 1)
        let neighbour = try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)
        let key = ClientIdentity().key(principal: nil, peer: one, headers: [:])
        #expect(key == ClientIdentity().key(principal: nil, peer: sibling, headers: [:]))
        #expect(key != ClientIdentity().key(principal: nil, peer: neighbour, headers: [:]))
        #expect(key == "address:2001:db8:1:2::/64")
    }

    @Test func theSocketsAddressUnlessAProxyIsTrusted() throws {
        #expect(ClientIdentity().key(principal: nil, peer: peer, headers: forwarded) == "address:127.0.0.1")
        let behindProxy = try ClientIdentity(environment: EnvironmentReader(["TRUSTED_PROXIES": "127.0.0.1, 203.0.113.9"]))
        // The rightmost hop that is not a trusted proxy: entries left of it are the client's word.
        #expect(behindProxy.key(principal: nil, peer: peer, headers: forwarded) == "address:198.51.100.7")
        // A peer that is not a trusted proxy is the client, whatever it forwards.
        let stranger = try SocketAddress(ipAddress: "192.0.2.1", port: 1)
        #expect(behindProxy.key(principal: nil, peer: stranger, headers: forwarded) == "address:192.0.2.1")
        // An IPv4 client seen through an IPv6 socket.
        let mapped = try SocketAddress(ipAddress: "::ffff:192.0.2.1", port: 1)
        #expect(ClientIdentity().key(principal: nil, peer: mapped, headers: [:]) == "address:192.0.2.1")
        // CIDRs, as a cluster's load balancers change addresses.
        let cluster = try ClientIdentity(environment: EnvironmentReader(["TRUSTED_PROXIES": "127.0.0.0/8, fd00::/8"]))
        #expect(cluster.key(principal: nil, peer: peer, headers: forwarded) == "address:203.0.113.9")
        let inside6 = try SocketAddress(ipAddress: "fd12::1", port: 1)
        #expect(cluster.key(principal: nil, peer: inside6, headers: forwarded) == "address:203.0.113.9")
        #expect(throws: ConfigurationError.self) { try ClientIdentity(environment: EnvironmentReader(["TRUSTED_PROXIES": "10.0.0.0/33"])) }
        #expect(throws: ConfigurationError.self) { try ClientIdentity(environment: EnvironmentReader(["TRUSTED_PROXIES": "proxy.local"])) }
    }
}
