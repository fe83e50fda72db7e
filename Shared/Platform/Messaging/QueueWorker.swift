import AMQP
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Runs a ``MessageHandler`` over its queue as a long-running service.
///
/// For each batch: decode, handle, then ack. A failed message is republished (with confirms)
/// to its next retry tier, or to the dead-letter queue once `maxAttempts` is reached, and only
/// then acked, so it is never dropped. On SIGTERM the worker stops taking deliveries, finishes
/// the batch in hand, and closes; anything unacked goes back to the queue.
///
/// A failure that is a dependency's outage (PostgreSQL, Redis or the broker down, see
/// ``DependencyOutage``) is not the message's fault and spends none of its attempts: the
/// worker keeps the batch, waits (0.5 s doubling to 30 s) and tries again, however long the
/// outage lasts. Otherwise a few minutes without a database would dead-letter every message
/// in flight. On SIGTERM during such a wait the batch is left unacked for the next consumer.
public final class QueueWorker<Handler: MessageHandler>: Service, Sendable {
    private let handler: Handler
    private let url: AMQPURL
    private let bus: MessageBus
    private let prefetch: Int
    /// How many batches are handled at once (1: one after the other). Each delivery is acked
    /// on its own, so a slow one holds only its own slot.
    private let concurrency: Int
    private let logger: Logger
    private let metrics: WorkerMetrics
    private let stopping = Atomic<Bool>(false)

    public init(handler: Handler, url: AMQPURL, bus: MessageBus, prefetch: Int? = nil, concurrency: Int = 1, logger: Logger) {
        precondition(concurrency >= 1)
        self.handler = handler
        self.url = url
        self.bus = bus
        self.concurrency = concurrency
        self.prefetch = prefetch ?? max(handler.batchSize * 2 * concurrency, 50)
        var logger = logger
        logger[metadataKey: "queue"] = "\(handler.queue.name)"
        self.logger = logger
        self.metrics = WorkerMetrics(queue: handler.queue.name)
    }

    public func run() async throws {
        let consumer = AMQPConsumer(url: url, queue: handler.queue.name, prefetch: prefetch,
                                    topology: handler.queue.work.topology, logger: logger)
        logger.info("consuming")
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                while true {
                    // At most `concurrency` batches in hand: wait for one to finish before taking more.
                    if running == concurrency {
                        await group.next()
                        running -= 1
                    }
                    let deliveries = await consumer.nextBatch(limit: handler.batchSize)
                    if deliveries.isEmpty { break }
                    if concurrency == 1 {
                        await process(deliveries, consumer: consumer)
                        continue
                    }
                    running += 1
                    group.addTask { await self.process(deliveries, consumer: consumer) }
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            consumer.stopConsuming()
        }
        await consumer.close()
        logger.info("stopped consuming")
    }

    private func process(_ deliveries: [AMQPDelivery], consumer: AMQPConsumer) async {
        metrics.consumed.increment(by: deliveries.count)
        var decoded: [(AMQPDelivery, MessageEnvelope<Handler.Payload>)] = []
        for delivery in deliveries {
            do {
                decoded.append((delivery, try EnvelopeCoding.decode(MessageEnvelope<Handler.Payload>.self, from: delivery.body)))
            } catch {
                await deadLetterUndecodable(delivery, error: error, consumer: consumer)
            }
        }
        guard !decoded.isEmpty else { return }
        let started = ContinuousClock.now
        switch await handleOutlastingOutages(decoded.map(\.1)) {
        case .handled:
            metrics.handling.recordNanoseconds(Int64((ContinuousClock.now - started).nanoseconds))
            for (delivery, _) in decoded { acknowledge(delivery, consumer: consumer) }
        case .stopping:
            return  // unacked: the broker hands the batch to the next consumer
        case .failed(let error) where decoded.count > 1:
            logger.warning("batch failed; handling its messages one by one", metadata: ["error": "\(error)", "size": "\(decoded.count)"])
            for (delivery, envelope) in decoded {
                switch await handleOutlastingOutages([envelope]) {
                case .handled: acknowledge(delivery, consumer: consumer)
                case .stopping: return
                case .failed(let error): await retryOrDeadLetter(delivery, envelope, error: error, consumer: consumer)
                }
            }
        case .failed(let error):
            await retryOrDeadLetter(decoded[0].0, decoded[0].1, error: error, consumer: consumer)
        }
    }

    private enum Outcome {
        case handled
        /// The message's own failure: retry tiers, then the dead-letter queue.
        case failed(any Error)
        /// SIGTERM arrived while waiting out an outage.
        case stopping
    }

    /// Runs the handler, and while it fails because a dependency is down, waits and runs it
    /// again (handlers are idempotent, so a partly done batch is safe to repeat).
    private func handleOutlastingOutages(_ batch: [MessageEnvelope<Handler.Payload>]) async -> Outcome {
        var delay = Duration.milliseconds(500)
        while true {
            do {
                try await handler.handle(batch)
                return .handled
            } catch {
                guard let outage = DependencyOutage.of(error) else { return .failed(error) }
                metrics.outageWaits.increment()
                logger.warning("dependency unavailable; waiting, the messages keep their attempts",
                               metadata: ["dependency": "\(outage.dependency)", "error": "\(outage.detail)",
                                          "retry_in": "\(delay)", "size": "\(batch.count)"])
                if await sleepUnlessStopping(delay) { return .stopping }
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// Sleeps for `delay`, waking early on SIGTERM or cancellation (in a cancelled task
    /// `Task.sleep` returns at once, so this loop would spin); returns whether to stop.
    private func sleepUnlessStopping(_ delay: Duration) async -> Bool {
        let end = ContinuousClock.now + delay
        while ContinuousClock.now < end {
            if stopping.load(ordering: .relaxed) || Task.isCancelled { return true }
            try? await Task.sleep(for: min(.milliseconds(100), end - ContinuousClock.now))
        }
        return stopping.load(ordering: .relaxed)
    }

    private func acknowledge(_ delivery: AMQPDelivery, consumer: AMQPConsumer) {
        consumer.ack(delivery)
        metrics.acked.increment()
    }

    private func retryOrDeadLetter(_ delivery: AMQPDelivery, _ envelope: MessageEnvelope<Handler.Payload>,
                                   error: any Error, consumer: AMQPConsumer) async {
        let queue = handler.queue.work
        var next = envelope
        next.lastError = String(describing: error)
        let permanent = error is PermanentFailure
        do {
            if permanent || envelope.attempt >= queue.maxAttempts {
                try await bus.publish(next, exchange: WorkQueue.deadExchange, routingKey: queue.routingKey)
                metrics.deadLettered.increment()
                logger.error("dead-lettered", metadata: ["message_id": "\(envelope.id)", "attempt": "\(envelope.attempt)",
                                                        "request_id": "\(envelope.requestID ?? "-")", "error": "\(error)"])
            } else {
                next.attempt += 1
                let tier = queue.retryTier(afterAttempt: envelope.attempt)
                try await bus.publish(next, exchange: WorkQueue.retryExchange, routingKey: queue.retryQueue(tier: tier))
                metrics.retried.increment()
                logger.warning("will retry", metadata: ["message_id": "\(envelope.id)", "attempt": "\(envelope.attempt)",
                                                       "delay": "\(queue.retryDelays[tier - 1])", "error": "\(error)"])
            }
            consumer.ack(delivery)
        } catch {
            // The broker did not take the retry copy: keep the original, which comes back later.
            logger.error("could not schedule a retry; returning the message to its queue", metadata: ["error": "\(error)"])
            consumer.nack(delivery, requeue: true)
        }
    }

    /// A body that is not a valid envelope can never succeed: park it as it is for an operator.
    private func deadLetterUndecodable(_ delivery: AMQPDelivery, error: any Error, consumer: AMQPConsumer) async {
        logger.error("undecodable message dead-lettered", metadata: ["message_id": "\(delivery.messageID ?? "-")", "error": "\(error)"])
        // Rejecting without requeue sends it through the queue's own dead-letter exchange.
        consumer.nack(delivery, requeue: false)
        metrics.deadLettered.increment()
    }
}

/// Per-queue counters and the handling-time histogram, exported at `/metrics`.
struct WorkerMetrics: Sendable {
    let consumed: Counter
    let acked: Counter
    let retried: Counter
    let deadLettered: Counter
    /// Handling attempts that met a dependency outage and were repeated after a wait.
    let outageWaits: Counter
    let handling: Timer

    init(queue: String) {
        func counter(_ outcome: String) -> Counter {
            Counter(label: "switchyard_messages_total", dimensions: [("queue", queue), ("outcome", outcome)])
        }
        consumed = counter("consumed")
        acked = counter("acked")
        retried = counter("retried")
        deadLettered = counter("dead_lettered")
        outageWaits = counter("waited_for_dependency")
        handling = Timer(label: "switchyard_message_handling_seconds", dimensions: [("queue", queue)])
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
