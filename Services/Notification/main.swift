// notification: delivers signed webhooks, WEBHOOK_CONCURRENCY at a time, retrying with growing
// delays (email over SMTP comes with the exports workload).
//
//   RabbitMQ [sms.notify] --> notification --signed POST--> client callback URLs (outbound policy)
import Platform
import SMS

let runtime = await ServiceRuntime.start(.notification, queues: SMSQueues.all)
let webhooks = runtime.configured { try SMSWebhookHandler(runtime: runtime) }

try await runtime.runWorkers([
    runtime.worker(webhooks, concurrency: webhooks.concurrency),
])
