import Hummingbird
import Logging

/// Turns every failure into the envelope: API errors as they are, the framework's own
/// (unknown route, body too large) with a matching code, a dependency that is down or
/// overloaded (PostgreSQL, Redis, the broker) into a 503 with `Retry-After` that names only
/// which one, and anything else into a bare 500. The details are logged here and never shown
/// to the client (they may hold hosts, ports or SQL).
public struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as any HTTPResponseError {
            let code: String = switch error.status.code {
            case 404: "not_found"
            case 405: "method_not_allowed"
            case 413: "payload_too_large"
            case 415: "unsupported_media_type"
            case 400: "bad_request"
            default: "http_\(error.status.code)"
            }
            let message = (error as? HTTPError)?.body ?? (error.status == .contentTooLarge ? "the body is too large" : error.status.reasonPhrase)
            throw APIError(error.status, code: code, message: message, headers: (error as? HTTPError)?.headers ?? [:])
        } catch let error where DependencyOutage.of(error) != nil {
            let outage = DependencyOutage.of(error)!
            context.logger.warning("dependency unavailable", metadata: ["dependency": "\(outage.dependency)",
                                                                      "error": "\(outage.detail)", "path": "\(request.uri.path)"])
            throw APIError.unavailable(outage.dependency)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, code: "internal_error", message: "internal error; the request id identifies it in the logs")
        }
    }
}
