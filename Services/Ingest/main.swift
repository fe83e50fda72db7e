// ingest: the HTTP API clients hit. It validates, applies the Redis-side checks, and hands
// accepted work to the broker with publisher confirms before answering.
//
//   client --HTTP--> ingest --confirmed publish--> RabbitMQ --> storage / processing / notification
//                      |--> Redis (rate limits, duplicate windows, response caches)
//                      '--> PostgreSQL (reads)
import Hummingbird
import Platform

let runtime = await ServiceRuntime.start(.ingest, queues: [])

let router = Router()
router.add(middleware: RequestIDMiddleware())
router.add(middleware: MetricsMiddleware())
runtime.operationsRoutes.add(to: router)

try await runtime.run(router: router, services: [])
