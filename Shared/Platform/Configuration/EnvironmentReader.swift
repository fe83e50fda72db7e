import ClientSupport
import Foundation

/// Raised at start when an environment variable holds something unusable. The service prints
/// it and exits, so a typo in a manifest is a crash loop with a clear message, not a surprise
/// at the first request.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let variable: String
    public let problem: String
    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }
    public var description: String { "invalid \(variable): \(problem)" }
}

/// Typed access to environment variables, each with a default for the local run.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    public func string(_ name: String, default fallback: String) -> String {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return fallback }
        return value
    }

    public func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = values[name], !text.isEmpty else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ConfigurationError(variable: name, problem: "expected a whole number in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    public func url(_ name: String, default fallback: String, schemes: Set<String>) throws -> String {
        let text = string(name, default: fallback)
        guard let components = URLComponents(string: text), let scheme = components.scheme, schemes.contains(scheme),
              components.host?.isEmpty == false else {
            throw ConfigurationError(variable: name, problem: "expected a \(schemes.sorted().joined(separator: " or ")) URL with a host, got \"\(redactingPassword(in: text))\"")
        }
        return text
    }

    public func oneOf(_ name: String, default fallback: String, allowed: [String]) throws -> String {
        let value = string(name, default: fallback)
        guard allowed.contains(value) else {
            throw ConfigurationError(variable: name, problem: "expected one of \(allowed.joined(separator: ", ")), got \"\(value)\"")
        }
        return value
    }

    /// A duration such as `2s`, `500ms`, `5m`, `24h` (a bare number is seconds).
    public func duration(_ name: String, default fallback: Duration) throws -> Duration {
        guard let text = values[name], !text.isEmpty else { return fallback }
        guard let duration = Self.parseDuration(text) else {
            throw ConfigurationError(variable: name, problem: "expected a duration like 2s, 500ms, 5m or 24h, got \"\(text)\"")
        }
        return duration
    }

    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number > 0 else { return nil }
            return .milliseconds(Int64((number * seconds * 1000).rounded()))
        }
        guard let number = Double(trimmed), number > 0 else { return nil }
        return .milliseconds(Int64((number * 1000).rounded()))
    }
}

extension Duration {
    /// Whole milliseconds, as Redis and RabbitMQ arguments want them.
    public var milliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
}
