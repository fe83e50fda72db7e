import ClientSupport
import Foundation

/// Where and how to connect: parsed from `amqp://user:password@host:port/vhost`
/// (the vhost percent-encoded, so `/` is `%2F`; an empty path means `/`).
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String
    /// Seconds between heartbeats; the broker drops us after two silent intervals.
    public var heartbeatSeconds: Int

    public init(_ text: String, heartbeatSeconds: Int = 30) throws {
        guard let url = URLComponents(string: text), url.scheme == "amqp", let host = url.host, !host.isEmpty else {
            throw AMQPError(.connection, "AMQP_URL must look like amqp://user:pass@host:5672/vhost, got \(redactingPassword(in: text))")
        }
        self.host = host
        self.port = url.port ?? 5672
        self.user = url.user ?? "guest"
        self.password = url.password ?? "guest"
        let path = url.percentEncodedPath.dropFirst()
        self.virtualHost = path.isEmpty ? "/" : (String(path).removingPercentEncoding ?? String(path))
        self.heartbeatSeconds = heartbeatSeconds
    }

    /// Without the password: an AMQPURL interpolated into a log line must not leak it.
    public var description: String {
        "amqp://\(user):***@\(host):\(port)/\(virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost)"
    }
}
