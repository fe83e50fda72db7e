import Platform

/// The ETag of a `/search` answer, the same whichever path wrote the answer (the in-memory
/// index or PostgreSQL through the response cache): a client that holds an ETag from one
/// replica gets its 304 from another, or from the same one across a restart before its index
/// has loaded.
///
/// It hashes each event's 64-bit digest rather than the whole answer, so that the index, which
/// keeps every event's digest from when it was loaded, pays 8 bytes per event per request
/// instead of the event's JSON.
enum SearchETag {
    /// FNV-1a over one event's JSON, as the answer shows it.
    static func digest<Bytes: Collection<UInt8>>(of eventJSON: Bytes) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in eventJSON { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    /// `"<32 hex digits>"`: SHA-256 over the events' digests in answer order, then their count.
    static func of(digests: some Sequence<UInt64>, count: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 8 + 8)
        for digest in digests {
            withUnsafeBytes(of: digest.littleEndian) { bytes.append(contentsOf: $0) }
        }
        withUnsafeBytes(of: UInt64(count).littleEndian) { bytes.append(contentsOf: $0) }
        return "\"\(SHA256Hex.of(bytes).prefix(32))\""
    }
}
