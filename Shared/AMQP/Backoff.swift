/// Exponential backoff with jitter for reconnects: 0.1 s doubling up to 5 s.
struct Backoff {
    private var current = 0.1
    mutating func reset() { current = 0.1 }
    mutating func next() -> Double {
        defer { current = min(current * 2, 5) }
        return current * Double.random(in: 0.5...1.0)
    }
}
