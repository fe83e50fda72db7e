// storage: persists what ingest and the feed poller handed on, in batches.
//
//   RabbitMQ [sms.store] --> storage --batched INSERT--> PostgreSQL
//                               '--confirmed publish--> RabbitMQ [sms.process]
//   RabbitMQ [events.store] --> storage --batched upsert--> PostgreSQL, then the search cache is invalidated
//   RabbitMQ [invoices.store] --> storage --batched INSERT--> PostgreSQL
//                                    '--confirmed publish--> RabbitMQ [invoices.check]
//
// Each workload says what it runs here (`parts(for: .storage, ...)` in its *Workload.swift).
import Platform
import Workloads

let runtime = await ServiceRuntime.start(.storage, workloads: Workloads.all)
try await runtime.runWorkers()
