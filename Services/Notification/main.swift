// notification: delivers what the other stages decided to tell the outside world, retrying
// with growing delays, several deliveries at once (email over SMTP comes with the exports
// workload).
//
//   RabbitMQ [sms.notify] --> notification --signed POST--> client callback URLs (outbound policy)
//
// Each workload says what it runs here (`parts(for: .notification, ...)` in its *Workload.swift).
import Platform
import Workloads

let runtime = await ServiceRuntime.start(.notification, workloads: Workloads.all)
try await runtime.runWorkers()
