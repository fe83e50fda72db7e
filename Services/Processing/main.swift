// processing: does each workload's real work on stored items, then hands on notifications.
//
//   RabbitMQ --> processing --> PostgreSQL
//                    '--confirmed publish--> RabbitMQ (notification queues)
import Platform

let runtime = await ServiceRuntime.start(.processing, queues: [])

try await runtime.runWorkers([])
