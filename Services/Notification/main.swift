// notification: delivers what the other stages decided to tell the outside world, retrying
// with growing delays, several deliveries at once, each once.
//
//   RabbitMQ [sms.notify] --> notification --signed POST--> client callback URLs (outbound policy)
//   RabbitMQ [invoices.email] --> notification --SMTP (libcurl)--> the receiver's mailbox
//   RabbitMQ [invoices.paid] --> notification --signed POST--> the sender's callback URL
//
// Each workload says what it runs here (`parts(for: .notification, ...)` in its *Workload.swift).
import Platform
import Workloads

let runtime = await ServiceRuntime.start(.notification, workloads: Workloads.all)
try await runtime.runWorkers()
