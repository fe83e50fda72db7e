@testable import AMQP
import Testing

@Suite("AMQP consumer: which acks may be one multiple ack")
struct UnsettledDeliveriesTests {
    @Test func acksBelowTheLowestUnsettledTagShareOneMultipleAck() {
        var unsettled = UnsettledDeliveries()
        for tag in UInt64(1)...6 { unsettled.delivered(tag) }
        for tag: UInt64 in [1, 2, 5] { unsettled.settle(tag) }  // 3, 4 and 6 still with the application
        let (covered, single) = unsettled.split([1, 2, 5])
        #expect(covered == [1, 2])
        #expect(single == [5])  // a multiple ack at 5 would also settle 3 and 4
    }

    @Test func everythingSettledIsCovered() {
        var unsettled = UnsettledDeliveries()
        for tag in UInt64(1)...3 { unsettled.delivered(tag) }
        for tag: UInt64 in [3, 1, 2] { unsettled.settle(tag) }
        #expect(unsettled.split([3, 1, 2]) == ([3, 1, 2], []))
    }
}
