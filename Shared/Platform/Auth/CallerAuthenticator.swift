import Foundation
import JWTKit

/// Turns an `Authorization` header into a ``Principal``, in one of the two `AUTH_MODE`s of the
/// contract:
///
/// - `dev`: `Authorization: <role> <id>`, e.g. `sender 42` (the local run and the tests);
/// - `jwt`: `Authorization: Bearer <token>`, an HS256 JWT signed with `AUTH_JWT_SECRET`, whose
///   `sub` is `role:id` and whose `exp` has not passed (60 s of clock skew allowed). Only HS256
///   with this secret verifies: `alg: none` and every other algorithm are refused.
public struct CallerAuthenticator: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case dev, jwt }

    /// Why a header was refused: said in the 401, never with the token or the secret.
    public struct Refusal: Error, Sendable, Equatable {
        public let reason: String
    }

    /// The claims of a Switchyard token.
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim?

        func verify(using algorithm: some JWTAlgorithm) async throws {
            // The skew allowed between the minting clock and ours.
            try exp.verifyNotExpired(currentDate: Date().addingTimeInterval(-CallerAuthenticator.clockSkew))
        }
    }

    static let clockSkew: TimeInterval = 60
    /// Shortest secret accepted: HS256 with less than 256 bits of key is guessable offline.
    public static let minimumSecretBytes = 32

    public let mode: Mode
    private let keys: JWTKeyCollection

    public init(mode: Mode, secret: String?) async throws {
        self.mode = mode
        keys = JWTKeyCollection()
        if mode == .jwt {
            guard let secret, secret.utf8.count >= Self.minimumSecretBytes else {
                throw ConfigurationError(variable: "AUTH_JWT_SECRET",
                                         problem: "AUTH_MODE=jwt needs a secret of at least \(Self.minimumSecretBytes) bytes")
            }
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        }
    }

    /// `AUTH_MODE` (default `dev`) and, for `jwt`, `AUTH_JWT_SECRET`.
    public init(environment: EnvironmentReader) async throws {
        let mode = Mode(rawValue: try environment.oneOf("AUTH_MODE", default: Mode.dev.rawValue, allowed: Mode.allCases.map(\.rawValue)))!
        let secret = environment.string("AUTH_JWT_SECRET", default: "")
        // Outside the local run a long placeholder is refused too (SecretSetting).
        if mode == .jwt, !SecretSetting.isDevelopment(environment), let problem = SecretSetting.weakness(of: secret, developmentValue: nil) {
            throw ConfigurationError(variable: "AUTH_JWT_SECRET", problem: "AUTH_MODE=jwt needs a real secret: \(problem)")
        }
        try await self.init(mode: mode, secret: secret.nilIfEmpty)
    }

    /// The caller a header names; nil without a header; a ``Refusal`` for anything else.
    public func principal(from authorization: String?) async throws(Refusal) -> Principal? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else { throw Refusal(reason: "expected `Authorization: \(mode == .dev ? "<role> <id>" : "Bearer <token>")`") }
        switch mode {
        case .dev:
            guard let principal = Principal(role: String(parts[0]), id: String(parts[1])) else {
                throw Refusal(reason: "expected `Authorization: <role> <id>` with a role of sender, consumer or operator")
            }
            return principal
        case .jwt:
            guard parts[0].lowercased() == "bearer" else { throw Refusal(reason: "expected `Authorization: Bearer <token>`") }
            let claims: Claims
            do {
                claims = try await keys.verify(String(parts[1]), as: Claims.self)
            } catch {
                throw Refusal(reason: "the token is invalid or expired")
            }
            guard let principal = Principal(subject: claims.sub.value) else {
                throw Refusal(reason: "the token's subject is not role:id")
            }
            return principal
        }
    }

    /// A token for `principal`, valid for `lifetime` (the operator CLI's `token mint`).
    public func mint(for principal: Principal, lifetime: TimeInterval, now: Date = Date()) async throws -> String {
        guard mode == .jwt else { throw Refusal(reason: "tokens exist only in AUTH_MODE=jwt") }
        return try await keys.sign(Claims(sub: SubjectClaim(value: principal.description),
                                          exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
                                          iat: IssuedAtClaim(value: now)))
    }
}

private extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
