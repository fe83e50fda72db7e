// notification: delivers email over SMTP and signed webhooks, retrying with growing delays.
//
//   RabbitMQ --> notification --> SMTP / client webhooks
import Platform

let runtime = await ServiceRuntime.start(.notification, queues: [])

try await runtime.runWorkers([])
