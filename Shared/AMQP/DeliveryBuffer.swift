import Synchronization

/// Deliveries waiting for the consumer's handler. The consumer thread appends; one task takes
/// them out, as many at a time as it can use, so a handler that writes in batches gets every
/// message that arrived while it was busy with the previous batch (up to the prefetch window).
final class DeliveryBuffer: Sendable {
    private struct State {
        var items: [AMQPDelivery] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func append(_ delivery: AMQPDelivery) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.finished else { return nil }
            state.items.append(delivery)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Ends the buffer. Deliveries not yet taken are dropped: never acked, the broker requeues them.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            state.items.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Up to `limit` deliveries, waiting for at least one; empty once the buffer is finished.
    func next(limit: Int) async -> [AMQPDelivery] {
        while true {
            let taken = state.withLock { state -> [AMQPDelivery]? in
                if !state.items.isEmpty {
                    let count = min(limit, state.items.count)
                    defer { state.items.removeFirst(count) }
                    return Array(state.items.prefix(count))
                }
                return state.finished ? [] : nil
            }
            if let taken { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.items.isEmpty || state.finished || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
            if Task.isCancelled { return [] }
        }
    }
}

/// The deliveries of an ``AMQPConsumer`` one at a time, as an async sequence.
public struct AMQPDeliveries: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    let buffer: DeliveryBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: DeliveryBuffer
        public mutating func next() async -> AMQPDelivery? { await buffer.next(limit: 1).first }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
