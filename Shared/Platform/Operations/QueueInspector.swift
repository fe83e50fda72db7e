import AMQP
import NIOPosix

/// Reads queue depths from the broker (a passive declare per queue) on a thread of its own,
/// keeping one connection open between calls and redialling after an error.
public final class QueueInspector: Sendable {
    private let url: AMQPURL
    private let thread = NIOThreadPool(numberOfThreads: 1)
    /// Only ever touched on `thread`.
    private nonisolated(unsafe) var connection: AMQPConnection?

    public init(url: AMQPURL) {
        self.url = url
        thread.start()
    }

    /// Messages waiting in each queue (ready, not yet delivered to a consumer).
    public func depths(of queues: [String]) async throws -> [String: Int] {
        try await thread.runIfActive { [self] in
            do {
                let live = try connection ?? AMQPConnection(url: url, connectTimeoutSeconds: 2)
                connection = live
                var depths: [String: Int] = [:]
                for queue in queues { depths[queue] = try live.inspect(queue: queue).messageCount }
                return depths
            } catch {
                connection = nil
                throw error
            }
        }
    }
}
