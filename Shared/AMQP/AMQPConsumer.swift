import ClientSupport
import CRabbitMQ
import Foundation
import Logging
import Synchronization

/// Consumes one queue with a prefetch window and manual acknowledgements.
///
/// One thread owns the connection (librabbitmq is not thread-safe): it reads deliveries into
/// a buffer (``deliveries`` one by one, ``nextBatch(limit:)`` many at a time) and applies the acks and nacks that handlers post from any task. It sleeps in
/// `poll` on the socket and on a wake-up pipe, so an ack goes out at once without busy-waiting,
/// and it wakes at least every second to keep heartbeats flowing. When the connection breaks
/// it reconnects with backoff, redeclares the topology, and consumes again; the broker
/// redelivers what was unacknowledged, and acks for the old connection are dropped.
public final class AMQPConsumer: Sendable {
    private enum Command {
        case ack(UInt64, generation: Int)
        case nack(UInt64, requeue: Bool, generation: Int)
    }

    private struct Control {
        var commands: [Command] = []
        var consuming = true
        var closed = false
    }

    public let queue: String
    private let buffer = DeliveryBuffer()
    private let url: AMQPURL
    private let prefetch: Int
    private let topology: AMQPTopology
    private let logger: Logger
    private let control = Mutex(Control())
    private let wakeup = WakeupPipe()
    private let finished = DispatchSemaphore(value: 0)
    /// Counts (re)connections; tests and health checks read it.
    private let connections = Atomic<Int>(0)

    public init(url: AMQPURL, queue: String, prefetch: Int = 100, topology: AMQPTopology = AMQPTopology(), logger: Logger) {
        self.url = url
        self.queue = queue
        self.prefetch = prefetch
        self.topology = topology
        self.logger = logger
        startOwnerThread(named: "amqp-c-\(queue)") { [self] in self.run() }
    }

    public var deliveries: AMQPDeliveries { AMQPDeliveries(buffer: buffer) }

    /// Up to `limit` deliveries, waiting for at least one; empty once consuming has stopped.
    public func nextBatch(limit: Int) async -> [AMQPDelivery] { await buffer.next(limit: limit) }

    /// How many times this consumer has connected (1 after start, more after reconnects).
    public var connectionCount: Int { connections.load(ordering: .relaxed) }

    public func ack(_ delivery: AMQPDelivery) {
        post(.ack(delivery.deliveryTag, generation: delivery.generation))
    }

    public func nack(_ delivery: AMQPDelivery, requeue: Bool) {
        post(.nack(delivery.deliveryTag, requeue: requeue, generation: delivery.generation))
    }

    /// Stops taking new deliveries and ends ``deliveries``; acks still go out until ``close()``.
    /// Deliveries not yet taken stay unacknowledged, so the broker gives them to another consumer.
    public func stopConsuming() {
        control.withLock { $0.consuming = false }
        buffer.finish()
        signal()
    }

    /// Closes the connection; whatever is still unacknowledged goes back to the queue.
    public func close() async {
        stopConsuming()
        control.withLock { $0.closed = true }
        signal()
        await finished.waitWithoutBlockingThePool()
    }

    private func post(_ command: Command) {
        control.withLock { $0.commands.append(command) }
        signal()
    }

    private func signal() { wakeup.wake() }

    // MARK: - The consumer thread

    private func run() {
        var connection: AMQPConnection?
        var generation = 0
        var backoff = Backoff()
        var unsettled = UnsettledDeliveries()
        defer {
            connection?.close()
            buffer.finish()
            finished.signal()
        }
        while true {
            let (commands, consuming, closed) = control.withLock { control in
                defer { control.commands.removeAll(keepingCapacity: true) }
                return (control.commands, control.consuming, control.closed)
            }
            if closed {
                // Acks posted before close still go out, so finished work is not redelivered.
                if let connection { try? apply(commands, on: connection, generation: generation, unsettled: &unsettled) }
                return
            }
            guard let live = connection else {
                guard consuming else { wakeup.wait(socket: nil, seconds: 1); continue }
                do {
                    let fresh = try AMQPConnection(url: url)
                    try fresh.declare(topology)
                    try fresh.startConsuming(queue: queue, prefetch: prefetch)
                    connection = fresh
                    generation += 1
                    unsettled = UnsettledDeliveries()  // the old connection's deliveries were requeued
                    connections.add(1, ordering: .relaxed)
                    backoff.reset()
                } catch {
                    logger.warning("consumer cannot reach the broker", metadata: ["queue": "\(queue)", "error": "\(error)"])
                    wakeup.wait(socket: nil, seconds: backoff.next())
                }
                continue
            }
            do {
                try apply(commands, on: live, generation: generation, unsettled: &unsettled)
                if !live.hasBufferedInput { wakeup.wait(socket: live.socketDescriptor, seconds: 1) }
                try readAvailable(from: live, consuming: consuming, generation: generation, unsettled: &unsettled)
            } catch {
                logger.warning("consumer connection lost; reconnecting", metadata: ["queue": "\(queue)", "error": "\(error)"])
                connection = nil
            }
        }
    }

    /// Sends the posted acks and nacks of the current connection. Acks that settle every
    /// delivery up to a tag go out as one `multiple` ack: fewer frames, and far fewer settle
    /// commands for a quorum queue (whose channel may hold back settles once 32 are pending,
    /// and drops held-back ones when the channel closes, redelivering those messages).
    private func apply(_ commands: [Command], on connection: AMQPConnection, generation: Int,
                       unsettled: inout UnsettledDeliveries) throws {
        var acked: [UInt64] = []
        for command in commands {
            switch command {
            case .ack(let tag, let from) where from == generation:
                unsettled.settle(tag)
                acked.append(tag)
            case .nack(let tag, let requeue, let from) where from == generation:
                unsettled.settle(tag)
                try connection.nack(tag: tag, requeue: requeue)
            default:
                continue  // from a connection that is gone: the broker has requeued that message
            }
        }
        let (covered, single) = unsettled.split(acked)
        if let highest = covered.max() { try connection.ack(tag: highest, multiple: covered.count > 1) }
        for tag in single { try connection.ack(tag: tag) }
    }

    /// Reads every frame that is ready without blocking. Also where heartbeats are serviced.
    private func readAvailable(from connection: AMQPConnection, consuming: Bool, generation: Int,
                               unsettled: inout UnsettledDeliveries) throws {
        repeat {
            var envelope = amqp_envelope_t()
            var immediately = timeval(tv_sec: 0, tv_usec: 0)
            connection.releaseFrameBuffers()
            let reply = amqp_consume_message(connection.state, &envelope, &immediately, 0)
            switch reply.reply_type {
            case AMQP_RESPONSE_NORMAL:
                defer { amqp_destroy_envelope(&envelope) }
                // Recorded even when not handed out, so that no `multiple` ack ever covers it.
                unsettled.delivered(envelope.delivery_tag)
                // After stopConsuming, deliveries already in flight are left unacked: close requeues them.
                guard consuming else { continue }
                buffer.append(AMQPDelivery(message: envelope.message, deliveryTag: envelope.delivery_tag,
                                          redelivered: envelope.redelivered != 0, exchange: envelope.exchange.string,
                                          routingKey: envelope.routing_key.string, generation: generation))
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
                return
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
                // A frame other than a delivery: read it and see whether the broker is closing us.
                guard let frame = try connection.nextFrame(timeout: 0), frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { continue }
                switch frame.payload.method.id {
                case switchyard_channel_close_method, switchyard_connection_close_method:
                    throw connection.serverClosed(frame)
                case switchyard_basic_cancel_method:
                    throw AMQPError(.server, "the broker cancelled the consumer (queue deleted?)")
                default:
                    continue
                }
            default:
                try connection.check(reply, "basic.consume")
            }
        } while connection.hasBufferedInput
    }
}
