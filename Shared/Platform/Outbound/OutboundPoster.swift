import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Sends a POST on a client's behalf (a signed callback) under the ``OutboundPolicy``:
///
/// - the name is resolved once, every address checked, and the connection goes to the checked
///   address (AsyncHTTPClient's `dnsOverride`), so a DNS answer that changes between the check
///   and the connect (rebinding) reaches nothing. The URL keeps its host name, so the `Host`
///   header, TLS SNI and the certificate check are all for the name the client gave: a receiver
///   behind a shared TLS front end works, and an attacker who controls DNS still needs a
///   certificate for the name;
/// - redirects are not followed (a public URL could send us inside);
/// - one deadline covers the whole exchange: resolution, connect, the request, the answer's
///   head and the at most `maximumAnswerBytes` of its body we read (the rest is dropped);
/// - a per-origin ``CircuitBreaker``: an endpoint that keeps failing is not dialled again for
///   a while, so it cannot hold a delivery slot the other endpoints need.
public struct OutboundPoster: Sendable {
    /// The post did not get a 2xx answer within the deadline (or the circuit is open): worth
    /// retrying later. A refusal by the policy is an ``OutboundRefusal`` instead, never retried.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable { case circuitOpen, timedOut, transport, status(Int) }
        public let kind: Kind
        public let description: String
    }

    public let policy: OutboundPolicy
    public let timeout: Duration
    public let breaker: CircuitBreaker
    public static let maximumAnswerBytes = 4096

    public init(policy: OutboundPolicy, timeout: Duration, breaker: CircuitBreaker) {
        self.policy = policy
        self.timeout = timeout
        self.breaker = breaker
    }

    /// The policy's variables, `WEBHOOK_TIMEOUT` (10 s), `WEBHOOK_CIRCUIT_FAILURES` (5) and
    /// `WEBHOOK_CIRCUIT_COOLDOWN` (30 s).
    public init(environment: EnvironmentReader) throws {
        self.init(policy: try OutboundPolicy(environment: environment),
                  timeout: try environment.duration("WEBHOOK_TIMEOUT", default: .seconds(10)),
                  breaker: CircuitBreaker(failureThreshold: try environment.int("WEBHOOK_CIRCUIT_FAILURES", default: 5, in: 1...1000),
                                          cooldown: try environment.duration("WEBHOOK_CIRCUIT_COOLDOWN", default: .seconds(30))))
    }

    /// Posts `body` with `headers` to `url`; returns the 2xx status. Throws ``OutboundRefusal``
    /// (permanent) or ``Failure`` (retry later).
    @discardableResult
    public func post(_ url: String, headers: HTTPHeaders, body: [UInt8]) async throws -> Int {
        let target = try OutboundTarget(url)
        if case .open(let failures, let retryIn) = breaker.admit(target.origin) {
            throw Failure(kind: .circuitOpen, description: "\(target.origin) failed \(failures) times in a row; "
                          + "not tried again for \(retryIn.roundedToMilliseconds)")
        }
        do {
            let status = try await withDeadline(target) { try await exchange(url, headers: headers, body: body) }
            guard (200..<300).contains(status) else {
                throw Failure(kind: .status(status), description: "\(target.redacted) answered \(status)")
            }
            breaker.recordSuccess(target.origin)
            return status
        } catch let refusal as OutboundRefusal {
            // The policy's verdict says nothing of the endpoint's health.
            throw refusal
        } catch let failure as Failure {
            // A 4xx (but for timeouts and rate limits) says the endpoint is up and refused this
            // one request: counting it would let anyone open a shared receiver's circuit by
            // submitting callbacks to paths it does not have, and get others' callbacks
            // dead-lettered.
            if case .status(let status) = failure.kind, (400..<500).contains(status), status != 408, status != 429 { throw failure }
            breaker.recordFailure(target.origin)
            throw failure
        } catch {
            breaker.recordFailure(target.origin)
            throw Failure(kind: .transport, description: "\(target.redacted): \(error)")
        }
    }

    private func exchange(_ url: String, headers: HTTPHeaders, body: [UInt8]) async throws -> Int {
        let (target, address) = try await policy.resolve(url)
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .init(timeout), read: .init(timeout)))
        configuration.dnsOverride = Self.overrides(url: url, target: target, address: address)
        // A client per delivery: its override names this delivery's checked address only.
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers = headers
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .init(timeout))
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                if read >= Self.maximumAnswerBytes { break }  // the rest is dropped with the connection
            }
            try? await client.shutdown()
            return Int(response.status.code)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Every spelling AsyncHTTPClient may use for the URL's host, mapped to the checked address.
    static func overrides(url: String, target: OutboundTarget, address: IPAddress) -> [String: String] {
        var hosts: Set<String> = [target.host, "[\(target.host)]"]
        if let parsed = URL(string: url) {
            if let host = parsed.host { hosts.insert(host) }
            if let host = parsed.host(percentEncoded: true) { hosts.insert(host) }
        }
        if let components = URLComponents(string: url), let host = components.host { hosts.insert(host) }
        return Dictionary(uniqueKeysWithValues: hosts.map { ($0, address.description) })
    }

    /// Runs `work`, giving up when `timeout` passes first. Not a task group: a group waits for
    /// its children, and a `getaddrinfo` stuck on a dead DNS server ignores cancellation, so the
    /// caller would wait for it past the deadline. Here the work is cancelled and left to end on
    /// its own (its connection, if any, is closed by the cancellation).
    private func withDeadline(_ target: OutboundTarget, _ work: @escaping @Sendable () async throws -> Int) async throws -> Int {
        let timeout = self.timeout
        let outcome = DeadlineOutcome()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let worker = Task {
                    do { outcome.settle(continuation, with: .success(try await work())) } catch { outcome.settle(continuation, with: .failure(error)) }
                }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    outcome.settle(continuation, with: .failure(Failure(kind: .timedOut, description: "\(target.redacted): no complete answer within \(timeout)")))
                    worker.cancel()
                }
                outcome.hold(worker: worker, timer: timer)
            }
        } onCancel: {
            outcome.cancel()
        }
    }
}

/// The first of the work's result, the deadline and the caller's cancellation settles the
/// continuation, once; the others are then cancelled.
private final class DeadlineOutcome: Sendable {
    private struct State {
        var settled = false
        var worker: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func hold(worker: Task<Void, Never>, timer: Task<Void, Never>) {
        let settled = state.withLock { state in
            state.worker = worker
            state.timer = timer
            return state.settled
        }
        if settled { worker.cancel(); timer.cancel() }
    }

    func settle(_ continuation: CheckedContinuation<Int, any Error>, with result: Result<Int, any Error>) {
        let (first, timer) = state.withLock { state -> (Bool, Task<Void, Never>?) in
            defer { state.settled = true }
            return (!state.settled, state.timer)
        }
        guard first else { return }
        timer?.cancel()
        continuation.resume(with: result)
    }

    /// The caller was cancelled: stop both; the work's own cancellation error settles the caller.
    func cancel() {
        let (worker, timer) = state.withLock { ($0.worker, $0.timer) }
        worker?.cancel()
        timer?.cancel()
    }
}

extension Duration {
    var roundedToMilliseconds: Duration { .milliseconds(milliseconds) }
}
