@testable import Platform
import Testing

/// What the outbound policy refuses at submission (no DNS) and at delivery (every resolved
/// address), and how its two variables are read.
@Suite("Outbound: policy")
struct OutboundPolicyTests {
    /// A resolver that answers from a table: no DNS in the tests.
    static func resolver(_ table: [String: [String]]) -> HostResolver {
        HostResolver(lookup: { host throws(OutboundRefusal) in
            guard let addresses = table[host] else { throw OutboundRefusal(.unresolvable, "\(host) is not in the table") }
            return addresses.map { IPAddress.literal($0)! }
        })
    }

    /// The issue's own examples and every notation of the refused ranges.
    @Test(arguments: [
        "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9101/health/live", "http://2130706433:6379/",
        "http://127.0.0.1:15672/", "http://0177.0.0.1/", "http://0x7f.1/", "http://0x7f000001/", "http://127.1/",
        "http://127.0.0.1./", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::ffff:a9fe:a9fe]/",
        "http://[0:0:0:0:0:0:0:1]/", "http://[::]/", "http://0/", "http://0.0.0.0/", "http://10.0.0.1/", "http://172.16.5.4/",
        "http://192.168.1.1/", "http://100.64.0.1/", "http://[fc00::1]/", "http://[fd00::1]/", "http://[fe80::1]/",
        "http://224.0.0.1/", "http://[ff02::1]/", "http://255.255.255.255/", "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::1]/", "http://2852039166/", "HTTP://169.254.169.254/",
        // Not an http(s) URL with a usable host, or a port outside CALLBACK_ALLOWED_PORTS.
        "ftp://example.com/", "file:///etc/passwd", "http:///path", "http://user:password@example.com/",
        "http://1.2.3.4.5/", "http://256.1.1.1/", "http://exa%6Dple.com/", "https://example.com:6379/", "http://example.com:8080/",
        "https://8.8.8.8:22/", "http://example.com/a b", "gopher://example.com/",
    ])
    func literalAddressesAndBadURLsAreRefusedAtSubmission(url: String) {
        #expect(throws: OutboundRefusal.self, "\(url)") { try OutboundPolicy().checkWithoutResolving(url) }
    }

    @Test(arguments: ["https://example.com/hook?token=abc", "http://example.com/", "http://example.com:80/x", "https://8.8.8.8/",
                      "https://[2606:4700:4700::1111]/", "http://[::ffff:8.8.8.8]/", "https://Hooks.Example.COM./in"])
    func publicURLsPassSubmission(url: String) throws {
        try OutboundPolicy().checkWithoutResolving(url)
    }

    @Test func allowedBlocksAreExemptFromRangesAndPorts() throws {
        let policy = try OutboundPolicy(environment: EnvironmentReader(["OUTBOUND_ALLOW_CIDRS": "127.0.0.1/32, fd00::/8"]))
        try policy.checkWithoutResolving("http://127.0.0.1:18590/hook")
        try policy.checkWithoutResolving("http://2130706433:18590/hook")   // the same address, however written
        try policy.checkWithoutResolving("http://[fd00::5]:8080/")
        try policy.checkWithoutResolving("http://[::ffff:127.0.0.1]:9/")
        // A name may resolve into an allowed block: its port is judged at delivery.
        try policy.checkWithoutResolving("http://localhost:18590/")
        #expect(throws: OutboundRefusal.self) { try policy.checkWithoutResolving("http://127.0.0.2/") }
        #expect(throws: OutboundRefusal.self) { try policy.checkWithoutResolving("http://[::1]/") }
        #expect(throws: OutboundRefusal.self) { try policy.checkWithoutResolving("http://8.8.8.8:8080/") }
    }

    @Test func everyResolvedAddressIsChecked() async throws {
        let policy = OutboundPolicy(resolver: Self.resolver([
            "public.test": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
            "mixed.test": ["93.184.216.34", "10.0.0.7"],
            "metadata.test": ["169.254.169.254"],
            "mapped.test": ["::ffff:127.0.0.1"],
        ]))
        let resolved = try await policy.resolve("https://public.test/hook")
        #expect(resolved.address == IPAddress.literal("93.184.216.34"))
        #expect(resolved.target.host == "public.test")
        for (url, named) in [("https://mixed.test/", "10.0.0.7"), ("http://metadata.test/", "169.254.169.254"),
                             ("http://mapped.test/", "127.0.0.1")] {
            do {
                _ = try await policy.resolve(url)
                Issue.record("\(url) was not refused")
            } catch {
                #expect(error.kind == .address)
                #expect(error.reason.contains(named), "\(error.reason)")
            }
        }
        await #expect(throws: OutboundRefusal.self) { try await policy.resolve("http://nowhere.test/") }
        // The port rule applies to names too.
        await #expect(throws: OutboundRefusal.self) { try await policy.resolve("http://public.test:25/") }
    }

    /// Through the real getaddrinfo: localhost is loopback, refused unless allowed.
    @Test func localhostResolvesToARefusedAddress() async throws {
        await #expect(throws: OutboundRefusal.self) { try await OutboundPolicy().resolve("http://localhost/") }
        let allowed = try OutboundPolicy(environment: EnvironmentReader(["OUTBOUND_ALLOW_CIDRS": "127.0.0.0/8,::1/128"]))
        let resolved = try await allowed.resolve("http://localhost:18590/")
        #expect(resolved.address == IPAddress.literal("127.0.0.1") || resolved.address == IPAddress.literal("::1"))
    }

    @Test(arguments: [("OUTBOUND_ALLOW_CIDRS", "10.0.0.0/33"), ("OUTBOUND_ALLOW_CIDRS", "localhost"), ("OUTBOUND_ALLOW_CIDRS", "127.0.0.1/32,nope"),
                      ("CALLBACK_ALLOWED_PORTS", "http"), ("CALLBACK_ALLOWED_PORTS", "80,70000"), ("CALLBACK_ALLOWED_PORTS", "80,,443")])
    func invalidSettingsNameTheVariable(variable: String, value: String) {
        do {
            _ = try OutboundPolicy(environment: EnvironmentReader([variable: value]))
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == variable)
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func portsAreConfigurable() throws {
        let policy = try OutboundPolicy(environment: EnvironmentReader(["CALLBACK_ALLOWED_PORTS": "443, 8443"]))
        try policy.checkWithoutResolving("https://example.com:8443/")
        #expect(throws: OutboundRefusal.self) { try policy.checkWithoutResolving("http://example.com/") }
    }

    @Test func urlsAreLoggedWithoutQueryOrCredentials() throws {
        #expect(OutboundTarget.redact("https://user:pw@hooks.example.com/in/42?token=secret#x") == "https://hooks.example.com/in/42")
        #expect(try OutboundTarget("https://hooks.example.com:8443/in?token=secret").origin == "https://hooks.example.com:8443")
        #expect(try OutboundTarget("http://2130706433/").origin == "http://127.0.0.1:80")
        #expect(try OutboundTarget("http://[0:0::1]:8080/").origin == "http://[::1]:8080")
    }

    @Test func theCircuitOpensAfterTheThresholdAndLetsOneTrialThroughAfterTheCooldown() {
        let breaker = CircuitBreaker(failureThreshold: 3, cooldown: .seconds(30))
        let start = ContinuousClock.now
        for _ in 1...2 { breaker.recordFailure("http://a:80", now: start) }
        #expect(breaker.admit("http://a:80", now: start) == .allowed)
        breaker.recordFailure("http://a:80", now: start)
        #expect(breaker.admit("http://a:80", now: start + .seconds(1)) == .open(failures: 3, retryIn: .seconds(29)))
        #expect(breaker.admit("http://b:80", now: start + .seconds(1)) == .allowed, "another origin is not affected")
        // After the cooldown one trial goes through; the others wait while it runs.
        #expect(breaker.admit("http://a:80", now: start + .seconds(31)) == .allowed)
        #expect(breaker.admit("http://a:80", now: start + .seconds(32)) != .allowed)
        breaker.recordSuccess("http://a:80")
        #expect(breaker.admit("http://a:80", now: start + .seconds(33)) == .allowed)
    }
}
