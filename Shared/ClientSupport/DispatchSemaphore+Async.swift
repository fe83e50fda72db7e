import Dispatch

extension DispatchSemaphore {
    /// Waits for a signal from async code without holding a thread of Swift's cooperative pool:
    /// the blocking wait happens on a Dispatch worker. This is how `close()` joins the thread
    /// that owns a C connection (AMQP publisher and consumer, Redis lane) once it has finished.
    public func waitWithoutBlockingThePool() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [self] in
                wait()
                continuation.resume()
            }
        }
    }
}
