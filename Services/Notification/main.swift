// notification: delivers what the other stages decided to tell the outside world, retrying
// with growing delays.
//
//   RabbitMQ [sms.notify] --> notification --signed POST--> client callback URLs
//
// Each workload says what it runs here (`parts(for: .notification, ...)` in its *Workload.swift).
import Platform
import Workloads

let runtime = await ServiceRuntime.start(.notification, workloads: Workloads.all)
try await runtime.runWorkers()
