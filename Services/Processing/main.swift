// processing: does each workload's real work, then hands on what comes next.
//
//   RabbitMQ [sms.process] --> processing (encoding, segments) --> PostgreSQL
//                                  '--confirmed publish--> RabbitMQ [sms.notify]
//   events provider (XML, polled by the lease holder) --> processing --batches--> RabbitMQ [events.store]
import Events
import Platform
import SMS

let runtime = await ServiceRuntime.start(.processing, queues: SMSQueues.all + EventsQueues.all)

try await runtime.runWorkers([
    runtime.worker(SMSProcessingHandler(runtime: runtime)),
    runtime.configured { try FeedPoller(runtime: runtime) },
])
