// storage: persists what ingest accepted, in batches, then hands it on to processing.
//
//   RabbitMQ [sms.store] --> storage --batched INSERT--> PostgreSQL
//                               '--confirmed publish--> RabbitMQ [sms.process]
import Platform
import SMS

let runtime = await ServiceRuntime.start(.storage, queues: SMSQueues.all)

try await runtime.runWorkers([
    runtime.worker(SMSStorageHandler(runtime: runtime)),
])
