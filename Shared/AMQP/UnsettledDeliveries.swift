/// The delivery tags of one channel that the broker sent and the application has not yet
/// acked or nacked: what decides whether an ack may be sent as one `multiple` ack.
///
/// A `multiple` ack for tag T settles every unsettled delivery up to T on the broker. That is
/// right only when the application has settled all of them, that is when T is below the
/// lowest tag still in this set (deliveries arrive in tag order, so any tag not yet read is
/// higher than every tag here).
struct UnsettledDeliveries {
    private var tags = Set<UInt64>()

    mutating func delivered(_ tag: UInt64) { tags.insert(tag) }
    mutating func settle(_ tag: UInt64) { tags.remove(tag) }

    /// Splits tags the application just acked (already passed to ``settle(_:)``) into those one
    /// `multiple` ack at their highest may cover, and those that must be acked one by one.
    func split(_ acked: [UInt64]) -> (covered: [UInt64], single: [UInt64]) {
        guard let lowestUnsettled = tags.min() else { return (acked, []) }
        return (acked.filter { $0 < lowestUnsettled }, acked.filter { $0 > lowestUnsettled })
    }
}
