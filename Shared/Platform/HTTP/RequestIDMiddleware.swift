import Foundation
import HTTPTypes
import Hummingbird

/// Every response carries `X-Request-Id`: the client's own when it sent a sane one, else a new
/// UUID. Workers receive it inside each message envelope, so one id follows a request through
/// every stage's logs.
public struct RequestIDMiddleware<Context: RequestContext & RequestIDCarrying>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = Self.acceptable(request.headers[.requestID]) ?? UUID.random().uuidString.lowercased()
        var context = context
        context.logger[metadataKey: "request_id"] = "\(id)"
        // Handlers read it from the context to carry it into the messages they publish.
        context.requestID = id
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = id
            return response
        } catch let error as HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.requestID] = id
            return response
        }
    }

    /// Up to 200 visible ASCII characters; anything else is replaced rather than echoed.
    static func acceptable(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.count <= 200,
              value.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) else { return nil }
        return value
    }
}

extension HTTPField.Name {
    public static let requestID = Self("X-Request-Id")!
}
