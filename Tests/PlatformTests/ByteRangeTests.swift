import Platform
import Testing

/// Issue 12 item 7: the `Range` header of media downloads, edge cases (RFC 9110 14.1.2).
@Suite("Platform: byte ranges")
struct ByteRangeTests {
    @Test(arguments: [
        (nil, ByteRange.whole),
        ("bytes=0-0", .part(0...0)),
        ("bytes=0-99", .part(0...99)),
        ("bytes=10-", .part(10...99)),
        ("bytes=90-500", .part(90...99)),     // an end past the size is clamped
        ("bytes=-10", .part(90...99)),
        ("bytes=-500", .part(0...99)),        // a suffix longer than the file is all of it
        ("bytes=100-", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=5-4", .whole),                // malformed: ignored
        ("bytes=0-1,4-5", .whole),            // several ranges: the whole file
        ("items=0-1", .whole),
        ("bytes=a-b", .whole),
        ("bytes=+1-2", .whole),
        ("bytes=99999999999999999999-", .whole),
    ] as [(String?, ByteRange)])
    func aRangeAgainstAHundredBytes(header: String?, expected: ByteRange) {
        #expect(ByteRange.parse(header, size: 100) == expected)
    }
}
