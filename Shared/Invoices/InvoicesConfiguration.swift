import Platform

/// The invoices workload's settings (README's configuration table).
public struct InvoicesConfiguration: Sendable {
    /// The largest file an invoice may carry (`INVOICE_MAX_BYTES`, 25 MiB by default).
    public var maxBytes: Int
    /// The deepest `offset` the invoice lists take (`INVOICE_LIST_MAX_OFFSET`): a deep OFFSET
    /// reads and throws away every row before it.
    public var listMaxOffset: Int

    public init(environment: EnvironmentReader) throws {
        maxBytes = try environment.int("INVOICE_MAX_BYTES", default: 25 * 1024 * 1024, in: 1...(1 << 40))
        listMaxOffset = try environment.int("INVOICE_LIST_MAX_OFFSET", default: 10_000, in: 0...1_000_000)
    }

    /// The largest JSON upload: the file in base64 (4 bytes per 3) plus room for the other fields.
    var largestJSONBodyBytes: Int { (maxBytes + 2) / 3 * 4 + 64 * 1024 }
}
