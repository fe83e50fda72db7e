import Platform

/// The invoices pipeline's queues: ingest -> invoices.store -> storage -> invoices.check ->
/// processing -> invoices.email -> notification; ingest (pay) -> invoices.paid -> notification.
public enum InvoicesQueues {
    /// Uploads whose file is durable in the blob store, for storage to record.
    public static let store = MessageQueue<ReceivedInvoice>("invoices.store", messageType: "invoices.received")
    /// Recorded invoices, for processing to check their file.
    public static let check = MessageQueue<InvoiceReference>("invoices.check", messageType: "invoices.stored")
    /// Available invoices with a `notify_email`: the receiver's email. A mail server that is
    /// down is waited out (an outage does not spend attempts); these delays are for refusals.
    public static let email = MessageQueue<InvoiceReference>("invoices.email", messageType: "invoices.available",
                                                             retryDelays: [.seconds(5), .seconds(30), .seconds(120), .seconds(600)],
                                                             maxAttempts: 8)
    /// Paid invoices with a `callback_url`: the sender's signed callback.
    public static let paid = MessageQueue<InvoiceReference>("invoices.paid", messageType: "invoices.paid",
                                                            retryDelays: [.seconds(5), .seconds(30), .seconds(120), .seconds(600)],
                                                            maxAttempts: 8)
    public static let all = [store.work, check.work, email.work, paid.work]
}
