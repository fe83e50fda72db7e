@testable import AMQP
import Foundation
import Synchronization
import Testing

/// The watchdog on its own, on a socket pair: it shuts the socket down once the deadline of
/// an armed write passes, and never when disarmed in time.
@Suite("AMQP send watchdog")
struct SendWatchdogTests {
    final class Fired: Sendable { let count = Atomic<Int>(0) }

    func socketPair() -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        return (fds[0], fds[1])
    }

    @Test func shutsTheSocketDownPastTheDeadline() async throws {
        let fired = Fired()
        let watchdog = SendWatchdog(name: "test-watch", checkEvery: .milliseconds(20)) { fired.count.add(1, ordering: .relaxed) }
        defer { watchdog.finish() }
        let (mine, peer) = socketPair()
        defer { close(mine); close(peer) }
        watchdog.arm(socket: mine, until: .now + .milliseconds(100))
        try await Task.sleep(for: .milliseconds(500))
        #expect(fired.count.load(ordering: .relaxed) == 1)
        var byte: UInt8 = 0
        #expect(recv(peer, &byte, 1, Int32(MSG_DONTWAIT)) == 0, "the peer did not see the shutdown")
    }

    @Test func leavesADisarmedSocketAlone() async throws {
        let fired = Fired()
        let watchdog = SendWatchdog(name: "test-watch", checkEvery: .milliseconds(20)) { fired.count.add(1, ordering: .relaxed) }
        defer { watchdog.finish() }
        let (mine, peer) = socketPair()
        defer { close(mine); close(peer) }
        watchdog.guarding(socket: mine, until: .now + .milliseconds(100)) {}
        try await Task.sleep(for: .milliseconds(300))
        #expect(fired.count.load(ordering: .relaxed) == 0)
    }
}
