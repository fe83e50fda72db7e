import HTTPTypes
import Hummingbird
import NIOCore

/// An error a client can act on, answered in the envelope:
/// `{"data": null, "error": {"code", "message", "field"?}}`.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    public static func badRequest(_ code: String, _ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, code: code, message: message, field: field)
    }
    public static func notFound(_ message: String = "no such resource") -> APIError {
        APIError(.notFound, code: "not_found", message: message)
    }

    /// A dependency (`database`, `redis`, `broker`) cannot serve the request now; the client
    /// should retry after a few seconds. Nothing about the failure beyond its name is said.
    public static func unavailable(_ dependency: String, retryAfterSeconds: Int = 5) -> APIError {
        APIError(.serviceUnavailable, code: "dependency_unavailable",
                 message: "the \(dependency) is unavailable; retry in \(retryAfterSeconds) s",
                 headers: [.retryAfter: String(retryAfterSeconds)])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = #"{"data":null,"error":{"code":"# + JSONText.quote(code) + #","message":"# + JSONText.quote(message)
        if let field { body += #","field":"# + JSONText.quote(field) }
        body += "}}"
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// JSON string quoting without a JSONEncoder round trip.
enum JSONText {
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
