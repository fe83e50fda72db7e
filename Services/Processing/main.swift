// processing: does each workload's real work, then hands on what comes next.
//
//   RabbitMQ [sms.process] --> processing (encoding, segments) --> PostgreSQL
//                                  '--confirmed publish--> RabbitMQ [sms.notify]
//   events provider (XML, polled by the lease holder) --> processing --batches--> RabbitMQ [events.store]
//   RabbitMQ [invoices.check] --> processing (the file from the blob store, checked by qpdf / libspng)
//                                    --> PostgreSQL, then RabbitMQ [invoices.email]
//
// Each workload says what it runs here (`parts(for: .processing, ...)` in its *Workload.swift).
import Platform
import Workloads

let runtime = await ServiceRuntime.start(.processing, workloads: Workloads.all)
try await runtime.runWorkers()
