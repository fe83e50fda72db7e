import Platform

/// The SMS pipeline's queues: ingest -> sms.store -> storage -> sms.process -> processing
/// -> sms.notify -> notification.
public enum SMSQueues {
    /// Accepted messages, for storage to persist.
    public static let store = MessageQueue<AcceptedSMS>("sms.store", messageType: "sms.accepted")
    /// Stored messages, for processing: one broker message per storage batch.
    public static let process = MessageQueue<SMSBatch>("sms.process", messageType: "sms.stored.batch")
    /// Processed messages with a callback URL. Webhooks wait longer between tries: the client's
    /// endpoint may be down for minutes.
    public static let notify = MessageQueue<SMSNotice>("sms.notify", messageType: "sms.processed",
                                                       retryDelays: [.seconds(5), .seconds(30), .seconds(120), .seconds(600)],
                                                       maxAttempts: 8)
    public static let all = [store.work, process.work, notify.work]
}
