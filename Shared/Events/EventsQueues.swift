import Platform

/// The events pipeline: processing's poller -> events.store -> storage.
public enum EventsQueues {
    public static let store = WorkQueue(name: "events.store")
    public static let all = [store]
}
