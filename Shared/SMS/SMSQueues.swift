import Platform

/// The SMS pipeline's queues: ingest -> sms.store -> storage -> sms.process -> processing
/// -> sms.notify -> notification.
public enum SMSQueues {
    public static let store = WorkQueue(name: "sms.store")
    public static let process = WorkQueue(name: "sms.process")
    /// Webhooks wait longer between tries: the client's endpoint may be down for minutes.
    public static let notify = WorkQueue(name: "sms.notify",
                                         retryDelays: [.seconds(5), .seconds(30), .seconds(120), .seconds(600)],
                                         maxAttempts: 8)
    public static let all = [store, process, notify]
}
