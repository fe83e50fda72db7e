#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOPosix

/// Resolves a host name with `getaddrinfo` on threads of its own: the call blocks (for as long
/// as DNS takes), so it must run neither on an event loop nor on Swift's cooperative pool.
public struct HostResolver: Sendable {
    public typealias Lookup = @Sendable (String) throws(OutboundRefusal) -> [IPAddress]

    private let threads: NIOThreadPool
    private let lookup: Lookup

    /// Threads of their own, as many as deliveries usually run at once: on the shared pool (two
    /// threads on a two-core machine) one name whose DNS server never answers would hold up every
    /// other lookup, and with it every other delivery, for the resolver's whole timeout.
    public static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    /// `lookup` is `getaddrinfo` unless a test gives a table of its own.
    public init(threads: NIOThreadPool = HostResolver.threads, lookup: @escaping Lookup = HostResolver.getaddrinfo) {
        self.threads = threads
        self.lookup = lookup
    }

    public func addresses(of host: String) async throws(OutboundRefusal) -> [IPAddress] {
        let lookup = self.lookup
        let result: Result<[IPAddress], OutboundRefusal>
        do {
            result = try await threads.runIfActive { () -> Result<[IPAddress], OutboundRefusal> in
                do throws(OutboundRefusal) { return .success(try lookup(host)) } catch { return .failure(error) }
            }
        } catch {
            throw OutboundRefusal(.unresolvable, "\(host) could not be resolved (\(error))")
        }
        return try result.get()
    }

    /// Every TCP address `host` resolves to, IPv4 and IPv6.
    public static let getaddrinfo: Lookup = { host throws(OutboundRefusal) in
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        #if canImport(Glibc)
        let status = Glibc.getaddrinfo(host, nil, &hints, &list)
        #else
        let status = Darwin.getaddrinfo(host, nil, &hints, &list)
        #endif
        guard status == 0, let first = list else {
            throw OutboundRefusal(.unresolvable, "\(host) could not be resolved (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let socketAddress = current.pointee.ai_addr {
                switch Int32(socketAddress.pointee.sa_family) {
                case AF_INET:
                    let value = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                    addresses.append(.v4(UInt32(bigEndian: value)))
                case AF_INET6:
                    var storage = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(.v6(withUnsafeBytes(of: &storage) { $0.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }))
                default:
                    break
                }
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw OutboundRefusal(.unresolvable, "\(host) resolved to no address") }
        var seen = Set<IPAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}
