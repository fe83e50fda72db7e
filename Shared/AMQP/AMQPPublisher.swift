import ClientSupport
import CRabbitMQ
import Dispatch
import Foundation
import Logging
import Synchronization

/// Publishes with publisher confirms: `publish` returns only once the broker has taken
/// responsibility for the message (for a quorum queue: replicated to disk).
///
/// One thread owns the connection. Callers enqueue and wake it; it sends everything queued at
/// once, and sleeps in `poll` on the socket and a wake-up pipe, so new messages go out while
/// earlier confirms are still on their way. Under load many messages share one confirm
/// (`multiple`), while a lone publish still returns in about one round trip. When the connection
/// breaks, the thread reconnects with backoff, redeclares the topology, and republishes every
/// message that was not yet confirmed, so a caller whose message was already sent never sees a
/// transient broker restart, only a publish that took longer (or, past its deadline, a
/// `.timeout`). A message that was never sent fails at once while the broker is unreachable
/// (`.connection`) or refusing publishes because of a memory or disk alarm (`.blocked`): it
/// cannot be in the broker, and its caller can answer "unavailable" now instead of at its deadline.
public final class AMQPPublisher: Sendable {
    private struct Pending {
        var message: AMQPOutgoingMessage
        var exchange: String
        var routingKey: String
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Void, any Error>
        /// Written to a connection at least once: the broker may hold it even without a confirm.
        var sent = false
    }

    private struct Inbox {
        var pending: [Pending] = []
        var closed = false
        /// The thread is (about to be) asleep in `poll`: only then does a publish write to the
        /// wake-up pipe, which saves a system call per message under load.
        var sleeping = false
    }

    private let url: AMQPURL
    private let topology: AMQPTopology
    private let logger: Logger
    private let publishTimeout: Duration
    private let inbox = Mutex(Inbox())
    private let wakeup = WakeupPipe()
    private let finished = DispatchSemaphore(value: 0)
    /// Shuts the socket down when a write outlives every caller's deadline (see ``SendWatchdog``).
    private let watchdog: SendWatchdog
    /// How long a polite `close` may take before the socket is shut down (a blocked broker never
    /// answers it; without a bound, closing took two RPC timeouts, about 20 s).
    private static let closeTimeout: Duration = .seconds(2)

    public init(url: AMQPURL, topology: AMQPTopology = AMQPTopology(), publishTimeout: Duration = .seconds(10), logger: Logger) {
        self.url = url
        self.topology = topology
        self.publishTimeout = publishTimeout
        self.logger = logger
        watchdog = SendWatchdog(name: "amqp-pub-watch") { [logger] in
            logger.warning("a write to the broker outlived its deadline (is the broker blocking publishers?); shutting the socket down")
        }
        startOwnerThread(named: "amqp-publisher") { [self] in self.run() }
    }

    /// Sends a persistent message and waits for the broker's confirm.
    public func publish(_ message: AMQPOutgoingMessage, exchange: String, routingKey: String) async throws {
        let deadline = ContinuousClock.now + publishTimeout
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let (accepted, wake) = inbox.withLock { inbox -> (Bool, Bool) in
                guard !inbox.closed else { return (false, false) }
                inbox.pending.append(Pending(message: message, exchange: exchange, routingKey: routingKey,
                                             deadline: deadline, continuation: continuation))
                defer { inbox.sleeping = false }
                return (true, inbox.sleeping)
            }
            if wake { wakeup.wake() }
            if !accepted { continuation.resume(throwing: AMQPError(.closed, "the publisher is closed")) }
        }
    }

    /// Stops accepting messages, waits for outstanding confirms, and closes the connection.
    public func close() async {
        inbox.withLock { $0.closed = true }
        wakeup.wake()  // always: the thread may be asleep waiting for confirms
        await finished.waitWithoutBlockingThePool()
    }

    // MARK: - The publisher thread

    private func run() {
        var connection: AMQPConnection?
        var inflight: [(tag: UInt64, item: Pending)] = []
        var returned = Set<String>()
        var nextTag: UInt64 = 1
        // At most 1 s between dials: until the publisher is connected again, every publish
        // fails at once (its caller answers 503), so each second of backoff after the broker is
        // back is a second of refused requests (`make chaos` measured up to 3 s with a 5 s cap).
        // A refused dial costs the broker nothing.
        var backoff = Backoff(cap: 1)
        /// The broker said `connection.blocked` (an alarm) and has not said `unblocked` since.
        var blocked = false

        func fail(_ items: [Pending], _ error: AMQPError) {
            for item in items { item.continuation.resume(throwing: error) }
        }
        /// Keeps the unconfirmed messages for the next connection, failing those out of time.
        func requeue(_ items: [Pending]) {
            let now = ContinuousClock.now
            let (late, alive) = (items.filter { $0.deadline <= now }, items.filter { $0.deadline > now })
            fail(late, AMQPError(.timeout, "no broker confirm within \(publishTimeout)"))
            inbox.withLock { $0.pending.insert(contentsOf: alive, at: 0) }
        }

        /// Sent but unconfirmed when the connection broke, while no new connection could be made:
        /// republished once one can, or failed at their deadline.
        var parked: [Pending] = []
        /// While the broker is unreachable: when to dial again, and why the last dial failed.
        var nextDial: ContinuousClock.Instant?
        var lastDialFailure = ""

        while true {
            let (batch, closed) = inbox.withLock { inbox in
                defer { inbox.pending.removeAll(keepingCapacity: true) }
                return (inbox.pending, inbox.closed)
            }
            if closed, batch.isEmpty, inflight.isEmpty, parked.isEmpty { break }

            guard let live = connection else {
                let now = ContinuousClock.now
                let work = parked + batch
                parked = []
                if work.isEmpty {
                    if goToSleep() {  // stay lazy until there is something to send
                        wakeup.wait(socket: nil, seconds: 1)
                        inbox.withLock { $0.sleeping = false }
                    }
                    continue
                }
                if let dialAt = nextDial, now < dialAt, !closed {
                    // The broker was unreachable a moment ago: a message never sent fails now
                    // (its caller answers 503 at once) rather than at the next dial, up to 1 s
                    // away. Sent ones wait for that dial, or their deadline.
                    fail(work.filter { !$0.sent }, AMQPError(.connection, "the broker is unreachable: \(lastDialFailure)"))
                    fail(work.filter { $0.sent && $0.deadline <= now }, AMQPError(.timeout, "no broker confirm within \(publishTimeout)"))
                    parked = work.filter { $0.sent && $0.deadline > now }
                    let wake = min(dialAt, parked.map(\.deadline).min() ?? dialAt)
                    if goToSleep() {  // a new publish wakes the thread, to be failed at once
                        wakeup.wait(socket: nil, seconds: max(0.001, (wake - now).inSeconds))
                        inbox.withLock { $0.sleeping = false }
                    }
                    continue
                }
                do {
                    // Bounded tighter than the defaults: while this thread dials, nobody waiting on
                    // it hears anything, so a broker that accepts and stalls must not hold it long.
                    let fresh = try AMQPConnection(url: url, connectTimeoutSeconds: 2, rpcTimeoutSeconds: 5)
                    try fresh.declare(topology)
                    try fresh.enableConfirms()
                    connection = fresh
                    nextTag = 1
                    returned.removeAll()
                    blocked = false
                    backoff.reset()
                    nextDial = nil
                    requeue(work)
                } catch {
                    logger.warning("publisher cannot reach the broker", metadata: ["error": "\(error)"])
                    if closed {
                        fail(work, AMQPError(.closed, "publisher closed while the broker was unreachable"))
                        break
                    }
                    lastDialFailure = "\(error)"
                    nextDial = ContinuousClock.now + .seconds(backoff.next())
                    fail(work.filter { !$0.sent }, AMQPError(.connection, "the broker is unreachable: \(error)"))
                    parked = work.filter(\.sent)
                }
                continue
            }

            var unsent = batch[...]
            do {
                let now = ContinuousClock.now
                // A write that outlives every waiting caller's deadline means a broker that
                // stopped reading (a resource alarm): the watchdog then breaks the connection.
                let earliest = min(inflight.first?.item.deadline ?? now + publishTimeout,
                                   unsent.lazy.filter { $0.deadline > now }.map(\.deadline).min() ?? now + publishTimeout)
                // Everything queued leaves in as few TCP segments as possible: the broker then
                // reads many messages at a time, which cut its CPU per message by about a third
                // under POST /messages load (85 -> 56-60 us), and this thread's sends got cheaper.
                try watchdog.guarding(socket: live.socketDescriptor, until: max(earliest, now + .milliseconds(100))) {
                    try live.coalescingWrites(if: unsent.count > 1) {
                        while var item = unsent.first {
                            if blocked, !item.sent {
                                item.continuation.resume(throwing: AMQPError(.blocked, "the broker is refusing publishes (resource alarm)"))
                            } else if item.deadline > now {
                                try live.send(item.message, exchange: item.exchange, routingKey: item.routingKey)
                                item.sent = true
                                inflight.append((nextTag, item))
                                nextTag += 1
                            } else {
                                item.continuation.resume(throwing: AMQPError(.timeout, "no broker confirm within \(publishTimeout)"))
                            }
                            unsent.removeFirst()
                        }
                    }
                }
                // Sleep until a confirm arrives or a caller adds work; wake at least every second
                // so that heartbeats go out on an idle connection.
                // The sleep ends by the oldest unconfirmed message's deadline at the latest, so
                // that its caller hears of the timeout then, not up to a second later.
                if !live.hasBufferedInput, goToSleep() {
                    let untilDeadline = inflight.first.map { ($0.item.deadline - ContinuousClock.now).inSeconds } ?? 1
                    wakeup.wait(socket: live.socketDescriptor, seconds: min(1, max(0.001, untilDeadline)))
                    inbox.withLock { $0.sleeping = false }
                }
                while let frame = try live.nextFrame(timeout: 0) {
                    try handle(frame, on: live, inflight: &inflight, returned: &returned, blocked: &blocked)
                }
                // Every frame read so far has been handled: give librabbitmq's per-channel
                // frame memory back, or it grows with each confirm for the connection's life.
                live.releaseFrameBuffers()
                if let oldest = inflight.first, oldest.item.deadline <= ContinuousClock.now {
                    throw AMQPError(.timeout, "confirms stopped arriving")
                }
            } catch {
                logger.warning("publisher connection lost; republishing unconfirmed messages", metadata: ["error": "\(error)"])
                connection = nil
                let unconfirmed = inflight.map(\.item)
                inflight.removeAll()
                requeue(unconfirmed + unsent)
            }
        }
        if let connection {
            watchdog.guarding(socket: connection.socketDescriptor, until: .now + Self.closeTimeout) { connection.close() }
        }
        connection = nil  // frees the C state and closes the socket, after the watchdog let go of it
        watchdog.finish()
        finished.signal()
    }

    /// Marks the thread asleep unless work arrived meanwhile (then it should not sleep at all).
    private func goToSleep() -> Bool {
        inbox.withLock { inbox in
            guard inbox.pending.isEmpty, !inbox.closed else { return false }
            inbox.sleeping = true
            return true
        }
    }

    private func handle(_ frame: amqp_frame_t, on connection: AMQPConnection,
                        inflight: inout [(tag: UInt64, item: Pending)], returned: inout Set<String>, blocked: inout Bool) throws {
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return }
        let method = frame.payload.method
        switch method.id {
        case switchyard_basic_ack_method, switchyard_basic_nack_method:
            let isAck = method.id == switchyard_basic_ack_method
            let (tag, multiple): (UInt64, Bool) = isAck
                ? method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee.confirmation
                : method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee.confirmation
            // Tags only grow, so `inflight` is sorted: what this confirm settles is a prefix
            // (`multiple`) or one entry, and only that part is touched (not the whole window,
            // whose entries each hold a body, strings and a continuation to retain on a copy).
            let settled: Range<Int>
            if multiple {
                settled = 0..<(inflight.firstIndex { $0.tag > tag } ?? inflight.endIndex)
            } else if let index = inflight.firstIndex(where: { $0.tag == tag }) {
                settled = index..<index + 1
            } else {
                return
            }
            for index in settled {
                let item = inflight[index].item
                if !isAck {
                    item.continuation.resume(throwing: AMQPError(.rejected, "the broker nacked message \(item.message.messageID)"))
                } else if !returned.isEmpty, returned.remove(item.message.messageID) != nil {
                    item.continuation.resume(throwing: AMQPError(.unroutable,
                        "no queue is bound to \(item.exchange) with key \(item.routingKey)"))
                } else {
                    item.continuation.resume()
                }
            }
            inflight.removeSubrange(settled)
        case switchyard_basic_return_method:
            // The broker sends a return before the ack of the same message; remember its id.
            var content = try connection.readContent()
            defer { amqp_destroy_message(&content) }
            returned.insert(content.properties.message_id.string)
        case switchyard_channel_close_method, switchyard_connection_close_method:
            throw connection.serverClosed(frame)
        case switchyard_connection_blocked_method:
            logger.warning("broker blocked publishing (memory or disk alarm); refusing new messages until it unblocks")
            blocked = true
        case switchyard_connection_unblocked_method:
            logger.info("broker unblocked publishing")
            blocked = false
        default:
            break
        }
    }
}

private extension amqp_basic_ack_t {
    var confirmation: (UInt64, Bool) { (delivery_tag, multiple != 0) }
}
private extension amqp_basic_nack_t {
    var confirmation: (UInt64, Bool) { (delivery_tag, multiple != 0) }
}
