// processing: does each workload's real work on stored items, then hands on notifications.
//
//   RabbitMQ [sms.process] --> processing (encoding, segments) --> PostgreSQL
//                                  '--confirmed publish--> RabbitMQ [sms.notify]
import Platform
import SMS

let runtime = await ServiceRuntime.start(.processing, queues: SMSQueues.all)

try await runtime.runWorkers([
    runtime.worker(SMSProcessingHandler(runtime: runtime)),
])
