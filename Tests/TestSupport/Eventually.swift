/// Polls until `condition` holds or `timeout` passes, and says which. For counts that settle a
/// moment after the action (a quorum queue applies acks and returns through its Raft log): the
/// deadline is generous for a loaded machine, and a pass costs only the moment it takes.
public func eventually(within timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}
