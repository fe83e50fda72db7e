import Synchronization

/// One circuit per origin (`scheme://host:port`), so that an endpoint that keeps failing stops
/// costing the others time. After `failureThreshold` failures in a row the circuit opens: for
/// `cooldown`, deliveries to that origin fail at once without dialling it (the caller retries
/// them later through its normal retry path). Then one delivery is let through as a trial: its
/// success closes the circuit, its failure opens it for another `cooldown`.
public final class CircuitBreaker: Sendable {
    public enum Admission: Sendable, Equatable {
        case allowed
        /// Refused without trying: the origin failed `failures` times in a row, and is left
        /// alone for `retryIn` more.
        case open(failures: Int, retryIn: Duration)
    }

    struct Circuit {
        var consecutiveFailures = 0
        var openUntil: ContinuousClock.Instant?
    }

    public let failureThreshold: Int
    public let cooldown: Duration
    /// Origins that failed lately; a success forgets its origin, and the map is capped so that a
    /// client naming endless dead hosts cannot grow it without bound.
    private let circuits = Mutex<[String: Circuit]>([:])
    static let maximumTracked = 10_000

    public init(failureThreshold: Int, cooldown: Duration) {
        self.failureThreshold = failureThreshold
        self.cooldown = cooldown
    }

    public func admit(_ origin: String, now: ContinuousClock.Instant = .now) -> Admission {
        circuits.withLock { circuits in
            guard var circuit = circuits[origin], let openUntil = circuit.openUntil else { return .allowed }
            if now < openUntil {
                return .open(failures: circuit.consecutiveFailures, retryIn: openUntil - now)
            }
            // The trial: the others stay refused while it runs (and for a whole cooldown should
            // it never report back).
            circuit.openUntil = now + cooldown
            circuits[origin] = circuit
            return .allowed
        }
    }

    public func recordSuccess(_ origin: String) {
        _ = circuits.withLock { $0.removeValue(forKey: origin) }
    }

    public func recordFailure(_ origin: String, now: ContinuousClock.Instant = .now) {
        circuits.withLock { circuits in
            if circuits[origin] == nil, circuits.count >= Self.maximumTracked {
                // Forget the circuits that are not open: they are the cheapest to learn again.
                circuits = circuits.filter { $0.value.openUntil != nil }
                if circuits.count >= Self.maximumTracked { circuits.removeAll() }
            }
            var circuit = circuits[origin] ?? Circuit()
            circuit.consecutiveFailures += 1
            if circuit.consecutiveFailures >= failureThreshold { circuit.openUntil = now + cooldown }
            circuits[origin] = circuit
        }
    }
}
