import Synchronization

/// Runs one piece of work per key at a time in this process: a caller that asks for a key
/// whose work is under way waits for that work's result instead of starting it again.
///
/// Why: a burst of identical `/search` misses (one popular window, just after new feed data
/// invalidated the cache) would otherwise send the same query to PostgreSQL once per caller,
/// holding every pool connection for one answer. The work runs in a task of its own, so a
/// caller that goes away (a client that disconnects) does not cancel it for the others.
final class SingleFlight<Value: Sendable>: Sendable {
    private let flights = Mutex<[String: Task<Value, any Error>]>([:])

    /// The result of `work` for `key`, run now or joined while under way; `shared` tells which.
    func run(_ key: String, _ work: @escaping @Sendable () async throws -> Value) async throws -> (value: Value, shared: Bool) {
        let (task, shared) = flights.withLock { flights -> (Task<Value, any Error>, Bool) in
            if let running = flights[key] { return (running, true) }
            let task = Task<Value, any Error> {
                // Forgotten once done, whatever the outcome: the next miss starts afresh (a
                // failure is not remembered). The lock is held while the task is filed, so
                // this cannot run before it.
                defer { _ = self.flights.withLock { $0.removeValue(forKey: key) } }
                return try await work()
            }
            flights[key] = task
            return (task, false)
        }
        return (try await task.value, shared)
    }

    /// How many keys have work under way (for tests).
    var inFlight: Int { flights.withLock { $0.count } }
}
