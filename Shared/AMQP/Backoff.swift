/// Exponential backoff with jitter for reconnects: 0.1 s doubling up to `cap` (5 s unless said).
struct Backoff {
    private var current = 0.1
    private let cap: Double

    init(cap: Double = 5) { self.cap = cap }

    mutating func reset() { current = 0.1 }
    mutating func next() -> Double {
        defer { current = min(current * 2, cap) }
        return current * Double.random(in: 0.5...1.0)
    }
}
