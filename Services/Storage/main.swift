// storage: persists what ingest accepted, in batches, then hands it on to processing.
//
//   RabbitMQ --> storage --COPY / upsert--> PostgreSQL
//                   '--confirmed publish--> RabbitMQ (processing queues)
import Platform

let runtime = await ServiceRuntime.start(.storage, queues: [])

try await runtime.runWorkers([])
