// storage: persists what ingest and the feed poller handed on, in batches.
//
//   RabbitMQ [sms.store] --> storage --batched INSERT--> PostgreSQL
//                               '--confirmed publish--> RabbitMQ [sms.process]
//   RabbitMQ [events.store] --> storage --batched upsert--> PostgreSQL, then the search cache is invalidated
import Events
import Platform
import SMS

let runtime = await ServiceRuntime.start(.storage, queues: SMSQueues.all + EventsQueues.all)

try await runtime.runWorkers([
    runtime.worker(runtime.configured { try SMSStorageHandler(runtime: runtime) }),
    runtime.worker(EventsStorageHandler(runtime: runtime)),
])
