import Events
import Invoices
import Platform
import SMS

/// Every workload this installation runs. Each service runs its stage of each, the CLI knows
/// their queues, and the migrations are theirs: a new workload is one more line here.
public enum Workloads {
    public static let all: [any Workload] = [SMSWorkload(), EventsWorkload(), InvoicesWorkload()]
}

extension Migrator {
    /// The platform's migrations and every workload's.
    public static func all() throws -> Migrator {
        try Migrator(workloads: Workloads.all)
    }
}
