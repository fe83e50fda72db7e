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

    public init(environment: EnvironmentReader) throws {
        url = try environment.url("PROVIDER_URL", default: "http://127.0.0.1:8090/", schemes: ["http", "https"])
        pollInterval = .seconds(try environment.int("PROVIDER_POLL_SECONDS", default: 60, in: 1...86_400))
        timeout = try environment.duration("PROVIDER_TIMEOUT", default: .seconds(10))
        attempts = try environment.int("PROVIDER_ATTEMPTS", default: 3, in: 1...10)
        maxDocumentBytes = try environment.int("PROVIDER_MAX_BYTES", default: 1 << 30, in: 1024...(1 << 34))
    }
}
