import Foundation
import Hummingbird
import Logging
import NIOCore

/// Serves the project's `openapi.yaml` at `GET /openapi.yaml`. The file is read once at start
/// from `OPENAPI_PATH` (default: `openapi.yaml` in the working directory, which is the
/// repository root in the local run; the container image sets the variable).
public struct OpenAPIDocument: Sendable {
    let bytes: [UInt8]?

    public init(environment: EnvironmentReader, logger: Logger) {
        let path = environment.string("OPENAPI_PATH", default: "openapi.yaml")
        bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        if bytes == nil { logger.warning("no OpenAPI document at \(path): GET /openapi.yaml will answer 404") }
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/openapi.yaml") { _, _ -> Response in
            guard let bytes else { throw APIError.notFound("the OpenAPI document is not installed") }
            return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
