import Foundation

/// Starts the thread that owns one C connection (an AMQP publisher or consumer, a Redis lane).
///
/// The name is set from inside the new thread: on Linux, `Thread.name` assigned before
/// `start()` is lost, and the thread kept the name of whichever Dispatch worker created it
/// ("com.apple.root.default-qos"), which made a crash report point at the wrong code.
/// Linux keeps 15 bytes of a name (a longer one is refused): longer names are cut.
public func startOwnerThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        // Foundation passes the name to the kernel only when the thread names itself.
        Thread.current.name = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        body()
    }
    thread.start()
}
