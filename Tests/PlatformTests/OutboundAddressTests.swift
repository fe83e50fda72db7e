@testable import Platform
import Testing

/// The outbound policy's address parser and ranges: every notation that names an address
/// literally is read as the address it dials, and judged as that address.
@Suite("Outbound: address literals and refused ranges")
struct OutboundAddressTests {
    /// Host text -> the address it is (nil: a name, or not an address).
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),            // one decimal number
        ("0x7f000001", "127.0.0.1"),            // one hexadecimal number
        ("0X7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),          // one octal number
        ("0177.0.0.1", "127.0.0.1"),            // octal part
        ("0x7f.0.0.1", "127.0.0.1"),            // hexadecimal part
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),                 // short forms: the last part fills the rest
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),            // trailing dot
        ("0", "0.0.0.0"),
        ("0.0.0.0", "0.0.0.0"),
        ("169.254.169.254", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("0xA9FEA9FE", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("192.168.1", "192.168.0.1"),
        ("4294967295", "255.255.255.255"),
        ("8.8.8.8", "8.8.8.8"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("::", "::"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
        ("::127.0.0.1", "::127.0.0.1"),
        ("fe80::1%eth0", "fe80::1"),            // zone id
        ("[fe80::1%25eth0]", "fe80::1"),        // zone id as RFC 6874 writes it in a URL
        ("FC00::1", "fc00::1"),
        ("64:ff9b::a00:1", "64:ff9b::a00:1"),
        ("2002:c0a8:101::1", "2002:c0a8:101::1"),
    ])
    func literalsAreReadInEveryNotation(host: String, expected: String) throws {
        let address = try #require(IPAddress.literal(host), "\(host) was not read as an address")
        #expect(address.description == expected, "\(host)")
    }

    @Test(arguments: ["example.com", "localhost", "127.0.0.1.nip.io", "1.2.3.4.5", "256.1.1.1", "1.2.3.4294967296",
                      "0x100000000", "08.1.1.1", "1..1", "", ":::1", "1:2:3:4:5:6:7:8:9", "[::1"])
    func namesAndBadNumbersAreNotAddresses(host: String) {
        #expect(IPAddress.literal(host) == nil, "\(host) was read as \(IPAddress.literal(host).map(String.init(describing:)) ?? "")")
    }

    /// Hosts that end in a number but are no address: refused as hosts, not looked up.
    @Test(arguments: ["1.2.3.4.5", "256.1.1.1", "example.0x10", "08.1.1.1", "host.123"])
    func hostsEndingInANumberAreNotNames(host: String) {
        #expect(IPAddress.looksNumeric(host))
    }

    @Test func namesDoNotLookNumeric() {
        for host in ["example.com", "a1.example", "1password.com", "localhost", "0xdeadbeef.example"] {
            #expect(!IPAddress.looksNumeric(host), "\(host)")
        }
    }

    /// Address -> refused (true) or public (false).
    @Test(arguments: [
        ("127.0.0.1", true), ("127.255.0.9", true), ("10.0.0.1", true), ("172.16.0.1", true), ("172.31.255.255", true),
        ("172.32.0.1", false), ("192.168.0.1", true), ("100.64.0.1", true), ("100.127.255.255", true), ("100.128.0.1", false),
        ("169.254.169.254", true), ("0.0.0.0", true), ("0.1.2.3", true), ("224.0.0.1", true), ("239.255.255.250", true),
        ("240.0.0.1", true), ("255.255.255.255", true), ("192.0.2.1", true), ("198.18.0.1", true),
        ("8.8.8.8", false), ("1.1.1.1", false), ("93.184.216.34", false),
        ("::1", true), ("::", true), ("fc00::1", true), ("fd12:3456::1", true), ("fe80::1", true), ("ff02::1", true),
        ("::ffff:127.0.0.1", true), ("::ffff:10.0.0.1", true), ("::ffff:169.254.169.254", true), ("::ffff:8.8.8.8", false),
        ("::127.0.0.1", true), ("::10.0.0.1", true), ("::ffff:0:127.0.0.1", true), ("::ffff:0:a9fe:a9fe", true), ("::ffff:0:808:808", false),
        ("64:ff9b::a00:1", true), ("64:ff9b::808:808", false), ("64:ff9b:1::7f00:1", true),
        ("2002:7f00:1::", true), ("2002:c0a8:101::1", true), ("2002:808:808::1", false),
        ("2001:db8::1", true), ("2606:4700:4700::1111", false), ("2a00:1450:4001:80b::200e", false),
    ])
    func rangesAreRefusedInEveryForm(address text: String, refused: Bool) throws {
        let address = try #require(IPAddress.literal(text))
        #expect((RefusedRanges.reason(for: address) != nil) == refused, "\(text): \(RefusedRanges.reason(for: address) ?? "public")")
    }

    @Test func blocksParseAndContain() throws {
        let loopback = try #require(AddressBlock("127.0.0.1/32"))
        #expect(loopback.contains(.v4(0x7F00_0001)))
        #expect(!loopback.contains(.v4(0x7F00_0002)))
        let wide = try #require(AddressBlock("10.0.0.0/8"))
        #expect(wide.contains(IPAddress.literal("10.200.3.4")!))
        #expect(!wide.contains(IPAddress.literal("11.0.0.1")!))
        #expect(try #require(AddressBlock("fd00::/8")).contains(IPAddress.literal("fd12::1")!))
        #expect(try #require(AddressBlock("0.0.0.0/0")).contains(IPAddress.literal("8.8.8.8")!))
        #expect(try #require(AddressBlock("192.168.1.7")).prefixLength == 32)
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "0x7f.0.0.1/32", "10.0.0.0/-1", "fd00::/129", "example.com/8", "10.0.0.0/8x", "2130706433/32"] {
            #expect(AddressBlock(bad) == nil, "\(bad)")
        }
    }
}
