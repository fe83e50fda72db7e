/// Reads a secret (`WEBHOOK_SECRET`, `AUTH_JWT_SECRET`, later `SIGNING_SECRET`) so that a
/// deployment cannot run on a value everyone knows. Only the local run and the tests, which say
/// `SWITCHYARD_ENV=development`, may leave it unset (they then get a fixed development value);
/// anywhere else a missing secret, a placeholder (`CHANGE-ME`, the development value) or one
/// shorter than 32 bytes stops the service at start, naming the variable. The value itself is
/// never part of the message.
public enum SecretSetting {
    /// Shortest secret accepted outside development: an HMAC key of less than 256 bits can be
    /// guessed offline from one signed message.
    public static let minimumBytes = 32

    /// Whether this process runs the local development set-up (`SWITCHYARD_ENV=development`);
    /// unset means a deployment, so that forgetting the variable fails safe.
    public static func isDevelopment(_ environment: EnvironmentReader) -> Bool {
        environment.string("SWITCHYARD_ENV", default: "") == "development"
    }

    /// `name`'s value; `developmentValue` when it is unset in development.
    public static func read(_ name: String, developmentValue: String, from environment: EnvironmentReader) throws -> String {
        let value = environment.string(name, default: "")
        if isDevelopment(environment) { return value.isEmpty ? developmentValue : value }
        if let problem = weakness(of: value, developmentValue: developmentValue) {
            throw ConfigurationError(variable: name, problem: "\(problem) (SWITCHYARD_ENV is not development; set \(name) to "
                                     + "\(minimumBytes) random bytes or more, e.g. `openssl rand -hex 32`)")
        }
        return value
    }

    /// Why `value` is not a secret, or nil.
    static func weakness(of value: String, developmentValue: String?) -> String? {
        if value.isEmpty { return "it is not set" }
        let lowered = value.lowercased()
        if lowered.contains("change-me") || lowered.contains("changeme") || lowered.contains("change_me") || value == developmentValue {
            return "it holds a placeholder, not a secret"
        }
        if value.utf8.count < minimumBytes { return "it is shorter than \(minimumBytes) bytes" }
        return nil
    }
}
