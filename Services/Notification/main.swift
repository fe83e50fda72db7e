// notification: delivers signed webhooks, retrying with growing delays (email over SMTP comes
// with the exports workload).
//
//   RabbitMQ [sms.notify] --> notification --signed POST--> client callback URLs
import Platform
import SMS

let runtime = await ServiceRuntime.start(.notification, queues: SMSQueues.all)

try await runtime.runWorkers([
    runtime.worker(runtime.configured { try SMSWebhookHandler(runtime: runtime) }),
])
