import Foundation
import Hummingbird
import Prometheus

/// `/health/live`, `/health/ready` and `/metrics`: served by every service, ingest on its API
/// port and each worker on its `METRICS_PORT`.
public struct OperationsRoutes: Sendable {
    let readiness: ReadinessProbe
    let registry: PrometheusCollectorRegistry
    let service: ServiceName

    /// `jsonMetrics`, when given, answers `/metrics` for clients that ask for JSON
    /// (`Accept: application/json`); everyone else gets Prometheus text.
    public func add<Context: RequestContext>(to router: Router<Context>, jsonMetrics: (@Sendable () async throws -> Response)? = nil) {
        router.get("/health/live") { _, _ in
            JSONBody(["data": ["status": "live", "service": service.rawValue], "error": nil] as [String: Any?])
        }
        router.get("/health/ready") { _, _ -> Response in
            let report = readiness.report()
            if report.isReady {
                return JSONBody(["data": ["status": "ready", "service": service.rawValue], "error": nil] as [String: Any?]).response
            }
            // Which dependency, nothing more: the error itself (hosts, ports) goes to the log.
            let message = report.unavailable.joined(separator: ", ") + " unavailable"
            var response = JSONBody(["data": nil, "error": ["code": "dependency_unavailable", "message": message,
                                                            "dependencies": report.unavailable]] as [String: Any?]).response
            response.status = .serviceUnavailable
            response.headers[.retryAfter] = "5"
            return response
        }
        router.get("/metrics") { request, _ -> Response in
            if let jsonMetrics, request.headers[.accept]?.contains("application/json") == true {
                return try await jsonMetrics()
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}

/// A small JSON body built from dictionaries, for the few fixed answers of the operations routes.
struct JSONBody: ResponseGenerator {
    let object: [String: Any?]
    init(_ object: [String: Any?]) { self.object = object }

    var response: Response {
        let data = (try? JSONSerialization.data(withJSONObject: object.mapValues { $0 ?? NSNull() }, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { response }
}
