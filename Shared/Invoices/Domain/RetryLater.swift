import Platform

/// A failure that only time fixes: retried with the queue's delays (it is not an outage, so it
/// spends an attempt; a claim lasts far less than the attempts do).
struct RetryLater: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
