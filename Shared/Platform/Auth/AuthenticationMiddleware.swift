import HTTPTypes
import Hummingbird

/// A request context that carries the caller, once ``AuthenticationMiddleware`` has read it.
public protocol PrincipalCarrying {
    var principal: Principal? { get set }
}

/// Reads the `Authorization` header of every request into the context. No header leaves the
/// caller anonymous (public routes serve it; protected ones answer 401 through ``RequireRole``);
/// a header that does not identify anyone is a 401 on every route.
public struct AuthenticationMiddleware<Context: RequestContext & PrincipalCarrying>: RouterMiddleware {
    let authenticator: CallerAuthenticator

    public init(authenticator: CallerAuthenticator) {
        self.authenticator = authenticator
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            context.principal = try await authenticator.principal(from: request.headers[.authorization])
        } catch {
            throw APIError.unauthorized(error.reason)
        }
        return try await next(request, context)
    }
}

/// Lets through only callers with one of `roles`: none is a 401, another role a 403.
public struct RequireRole<Context: RequestContext & PrincipalCarrying>: RouterMiddleware {
    let roles: Set<Principal.Role>

    public init(_ roles: Principal.Role...) {
        self.roles = Set(roles)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.principal else { throw APIError.unauthorized("this route needs credentials") }
        guard roles.contains(principal.role) else {
            throw APIError(.forbidden, code: "forbidden",
                           message: "a \(principal.role.rawValue) may not do this (allowed: \(roles.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
        return try await next(request, context)
    }
}

extension APIError {
    /// 401 with the scheme the caller should use.
    public static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message: message, headers: [.wwwAuthenticate: "Bearer"])
    }
}
