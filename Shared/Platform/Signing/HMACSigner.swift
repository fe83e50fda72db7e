import Crypto

/// HMAC-SHA256 with one secret, as lower-case hex: the signature of webhooks (SMS and invoice
/// callbacks) and of signed links. One implementation, so every signature the platform hands
/// out is computed, and compared, the same way.
public struct HMACSigner: Sendable {
    /// Kept as bytes: `SymmetricKey` is not Sendable.
    private let secret: [UInt8]

    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// The webhook signer: `WEBHOOK_SECRET` (outside the local run a missing or placeholder
    /// value stops the service at start, naming the variable).
    public static func webhooks(environment: EnvironmentReader) throws -> HMACSigner {
        HMACSigner(secret: Array(try SecretSetting.read("WEBHOOK_SECRET", developmentValue: "dev-webhook-secret", from: environment).utf8))
    }

    public func hex(_ message: [UInt8]) -> String {
        SHA256Hex.hex(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
    }

    /// A webhook's `X-Switchyard-Signature` value without its `sha256=`: the MAC over
    /// `<timestamp>.<body>` (the contract), so a captured callback cannot be replayed later.
    public func webhook(body: [UInt8], timestamp: Int) -> String {
        hex(Array("\(timestamp).".utf8) + body)
    }

    /// Whether `signature` (hex) is the MAC of `message`, compared in constant time.
    public func verify(_ signature: String, of message: [UInt8]) -> Bool {
        let expected = Array(hex(message).utf8), given = Array(signature.lowercased().utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
