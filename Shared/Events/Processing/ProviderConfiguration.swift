import Platform

/// Where and how often to poll the events provider.
public struct ProviderConfiguration: Sendable {
    public var url: String
    public var pollInterval: Duration
    /// How long one fetch may take before it counts as a failure.
    public var timeout: Duration
    /// Attempts per poll (with backoff and jitter between them).
    public var attempts: Int
    /// The largest document accepted, so a runaway provider cannot fill the disk.
    public var maxDocumentBytes: Int
    /// A batch is published once its plans' encoded size (an upper bound, see
    /// ``FeedPlan/encodedSizeBound``) would pass this, or once it holds 500 plans.
    public var batchBytes: Int
    /// A plan whose encoding alone is larger is skipped and counted: RabbitMQ refuses a message
    /// over its `max_message_size` (128 MiB by default since 3.10), and such a batch would be
    /// refused again on every poll. Both limits stay well under it (at most 100 MiB).
    public var maxPlanBytes: Int

    public init(environment: EnvironmentReader) throws {
        url = try environment.url("PROVIDER_URL", default: "http://127.0.0.1:8090/", schemes: ["http", "https"])
        pollInterval = .seconds(try environment.int("PROVIDER_POLL_SECONDS", default: 60, in: 1...86_400))
        timeout = try environment.duration("PROVIDER_TIMEOUT", default: .seconds(10))
        attempts = try environment.int("PROVIDER_ATTEMPTS", default: 3, in: 1...10)
        maxDocumentBytes = try environment.int("PROVIDER_MAX_BYTES", default: 1 << 30, in: 1024...(1 << 34))
        batchBytes = try environment.int("PROVIDER_BATCH_BYTES", default: 4 << 20, in: (64 << 10)...(100 << 20))
        maxPlanBytes = try environment.int("PROVIDER_MAX_PLAN_BYTES", default: 16 << 20, in: (64 << 10)...(100 << 20))
    }
}
