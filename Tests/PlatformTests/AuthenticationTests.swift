import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Platform
import TestSupport
import Testing

/// The authentication middleware in-process, in both `AUTH_MODE`s: who gets through which
/// route, and what a refused caller is told.
@Suite("HTTP: authentication and roles")
struct AuthenticationTests {
    static let secret = "test-secret-that-is-long-enough-for-hs256-0123456789"

    /// `/open` is public, `/senders` takes senders, `/operators` operators; each answers the caller.
    func app(_ authenticator: CallerAuthenticator) -> some ApplicationProtocol {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ErrorEnvelopeMiddleware())
        router.add(middleware: AuthenticationMiddleware(authenticator: authenticator))
        router.get("/open") { _, context in context.principal?.description ?? "anonymous" }
        router.group("/senders").add(middleware: RequireRole(.sender)).get { _, context in context.principal!.description }
        router.group("/operators").add(middleware: RequireRole(.operator)).get { _, context in context.principal!.description }
        return Application(router: router)
    }

    func get(_ app: some ApplicationProtocol, _ path: String, authorization: String?) async throws -> (Int, String) {
        try await app.test(.router) { client in
            var headers: HTTPFields = [:]
            if let authorization { headers[.authorization] = authorization }
            return try await client.execute(uri: path, method: .get, headers: headers) { (Int($0.status.code), String(buffer: $0.body)) }
        }
    }

    @Test func devModeMatrix() async throws {
        let app = app(try await CallerAuthenticator(mode: .dev, secret: nil))
        let cases: [(String, String?, Int)] = [
            ("/open", nil, 200), ("/open", "sender 7", 200), ("/open", "nonsense", 401),
            ("/senders", nil, 401), ("/senders", "sender 7", 200), ("/senders", "consumer 7", 403),
            ("/senders", "sender 0", 401), ("/senders", "sender -1", 401), ("/senders", "sender 07", 401),
            ("/senders", "sender x", 401), ("/senders", "admin 7", 401), ("/senders", "sender 7 extra", 401),
            ("/operators", "operator night-shift_1", 200), ("/operators", "operator Root", 401), ("/operators", "sender 7", 403),
        ]
        for (path, authorization, status) in cases {
            let (got, body) = try await get(app, path, authorization: authorization)
            #expect(got == status, "\(path) with \(authorization ?? "no header"): \(got) \(body)")
            if status == 200, let authorization, path != "/open" || authorization.contains(" ") {
                #expect(body == authorization.replacingOccurrences(of: " ", with: ":"))
            }
            if status == 401 { #expect(body.contains("unauthorized")) }
            if status == 403 { #expect(body.contains("forbidden")) }
        }
    }

    @Test func jwtModeAcceptsOnlyLiveHS256TokensWithThisSecret() async throws {
        let authenticator = try await CallerAuthenticator(mode: .jwt, secret: Self.secret)
        let app = app(authenticator)
        let sender = Principal(role: "sender", id: "42")!
        let live = try await authenticator.mint(for: sender, lifetime: 600)
        let (status, body) = try await get(app, "/senders", authorization: "Bearer \(live)")
        #expect(status == 200 && body == "sender:42", "\(status) \(body)")
        #expect(try await get(app, "/operators", authorization: "Bearer \(live)").0 == 403)
        // Expired 30 s ago: within the clock skew. Two minutes ago: refused.
        let justExpired = try await authenticator.mint(for: sender, lifetime: 60, now: Date().addingTimeInterval(-90))
        #expect(try await get(app, "/senders", authorization: "Bearer \(justExpired)").0 == 200)
        let expired = try await authenticator.mint(for: sender, lifetime: 60, now: Date().addingTimeInterval(-180))
        #expect(try await get(app, "/senders", authorization: "Bearer \(expired)").0 == 401)
        // Another secret, another algorithm, no algorithm at all, a bad subject, the dev header.
        let otherSecret = try await CallerAuthenticator(mode: .jwt, secret: Self.secret + "x").mint(for: sender, lifetime: 600)
        #expect(try await get(app, "/senders", authorization: "Bearer \(otherSecret)").0 == 401)
        #expect(try await get(app, "/senders", authorization: "Bearer \(try await Self.token(sub: "sender:42", digest: .sha384))").0 == 401)
        #expect(try await get(app, "/senders", authorization: "Bearer \(Self.unsignedToken(sub: "sender:42"))").0 == 401)
        #expect(try await get(app, "/senders", authorization: "Bearer \(try await Self.token(sub: "root", digest: .sha256))").0 == 401)
        #expect(try await get(app, "/senders", authorization: "sender 42").0 == 401)
        #expect(try await get(app, "/open", authorization: nil).0 == 200)
        let refused = try await get(app, "/senders", authorization: "Bearer \(expired)").1
        #expect(!refused.contains(expired) && !refused.contains(Self.secret), "the answer repeats a secret: \(refused)")
    }

    @Test func jwtModeNeedsALongEnoughSecret() async throws {
        await #expect(throws: ConfigurationError.self) { try await CallerAuthenticator(mode: .jwt, secret: "short") }
        await #expect(throws: ConfigurationError.self) { try await CallerAuthenticator(mode: .jwt, secret: nil) }
    }

    /// The operator CLI mints a token that the service accepts, and refuses malformed input.
    @Test func theCLIMintsTokensTheServiceAccepts() async throws {
        let minted = try await SwitchyardCLI.run(["token", "mint", "--sub", "consumer:9", "--ttl", "15m"],
                                                 environment: ["AUTH_JWT_SECRET": Self.secret])
        #expect(minted.status == 0, "\(minted.output)")
        let token = minted.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let authenticator = try await CallerAuthenticator(mode: .jwt, secret: Self.secret)
        #expect(try await authenticator.principal(from: "Bearer \(token)") == Principal(role: "consumer", id: "9"))
        let bad = try await SwitchyardCLI.run(["token", "mint", "--sub", "consumer:-9"], environment: ["AUTH_JWT_SECRET": Self.secret])
        #expect(bad.status != 0)
        let noSecret = try await SwitchyardCLI.run(["token", "mint", "--sub", "consumer:9"], environment: ["AUTH_JWT_SECRET": ""])
        #expect(noSecret.status != 0)
        #expect(noSecret.output.contains("AUTH_JWT_SECRET"))
    }

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// A token signed with the right secret by any HMAC digest, with any subject.
    static func token(sub: String, digest: DigestAlgorithm) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
        return try await keys.sign(Claims(sub: .init(value: sub), exp: .init(value: Date().addingTimeInterval(600))))
    }

    /// `alg: none`, no signature: the classic forgery.
    static func unsignedToken(sub: String) -> String {
        func part(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let exp = Int(Date().timeIntervalSince1970) + 600
        return part(#"{"alg":"none","typ":"JWT"}"#) + "." + part(#"{"sub":"\#(sub)","exp":\#(exp)}"#) + "."
    }
}
