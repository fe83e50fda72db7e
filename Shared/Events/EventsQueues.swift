import Platform

/// The events pipeline: processing's poller -> events.store -> storage.
public enum EventsQueues {
    /// Batches of plans from one provider document, for storage to upsert.
    public static let store = MessageQueue<FeedBatch>("events.store", messageType: "events.batch")
    public static let all = [store.work]
}
