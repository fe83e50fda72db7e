/// The name of a blob inside a store: one to 512 characters of `a-z 0-9 / _ . -`, in segments
/// separated by `/`, none empty, `.` or `..` and none starting with `.` (so that a key is
/// also a safe relative path for the folder driver and a plain S3 object name).
/// Workloads build keys from identifiers they chose (`invoices/<uuid>`,
/// `sms-media/sha256/ab/<sha256>`), never from client input.
public struct BlobKey: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init(_ value: String) throws(BlobStoreError) {
        guard Self.isValid(value) else { throw .invalidKey(value) }
        self.value = value
    }

    public var description: String { value }

    static func isValid(_ value: String) -> Bool {
        guard (1...512).contains(value.utf8.count) else { return false }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        guard allowed else { return false }
        return value.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && !$0.hasPrefix(".") }
    }
}
