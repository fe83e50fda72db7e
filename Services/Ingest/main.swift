// ingest: the HTTP API clients hit. It validates, applies the Redis-side checks, and hands
// accepted work to the broker with publisher confirms before answering.
//
//   client --HTTP--> ingest --confirmed publish--> RabbitMQ --> storage / processing / notification
//                      |--> Redis (rate limits, duplicate windows, response caches)
//                      |--> blob store (uploaded files, streamed in and out)
//                      '--> PostgreSQL (reads; an invoice's payment)
//
// Each workload adds its routes (and what runs beside them) in `parts(for: .ingest, ...)`.
import Hummingbird
import Platform
import Workloads

let runtime = await ServiceRuntime.start(.ingest, workloads: Workloads.all)
let parts = await runtime.parts()
let authenticator = await runtime.configured { try await CallerAuthenticator(environment: runtime.configuration.environment) }

let router = Router(context: APIRequestContext.self)
router.add(middleware: RequestIDMiddleware())
router.add(middleware: MetricsMiddleware())
router.add(middleware: ErrorEnvelopeMiddleware())
router.add(middleware: AuthenticationMiddleware(authenticator: authenticator))
router.add(middleware: IdempotencyMiddleware(redis: runtime.redis, logger: runtime.logger) { _, context in
    context.principal?.description ?? "anonymous"
})
runtime.operationsRoutes.add(to: router, jsonMetrics: parts.jsonMetrics)
OpenAPIDocument(environment: runtime.configuration.environment, logger: runtime.logger).add(to: router)
for routes in parts.routes { routes.addRoutes(to: router) }
if runtime.configuration.environment.string("BENCH_ROUTES", default: "") == "1" {
    // `make bench` compares POST /messages with this: same server, same middleware, no work.
    router.post("/_bench/bare") { request, _ in
        _ = try await request.body.collect(upTo: 64 * 1024)
        return try JSONEnvelope.response(["ok": true])
    }
    router.get("/_bench/bare") { _, _ in try JSONEnvelope.response(["ok": true]) }
}

try await runtime.run(router: router, services: parts.services)
