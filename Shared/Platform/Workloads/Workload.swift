import Hummingbird
import ServiceLifecycle

/// A workload (SMS, the events feed, invoices...) as the platform runs it: the one place where
/// it plugs in. Each service's `main` lists the workloads (`Workloads.all`) and runs, of each,
/// the part that belongs to its stage; the CLI's queue catalogue and the migrations come from
/// the same list. Adding a workload is its folder, its line in `Package.swift` and its line in
/// `Workloads.all`.
public protocol Workload: Sendable {
    /// Its name: in logs, and as the owner of its migrations in `schema_migrations`.
    var name: String { get }

    /// Every queue it uses, whichever stage consumes it: each service declares them all at
    /// start, so that no publish can go to a queue not declared yet.
    var queues: [WorkQueue] { get }

    /// Its SQL: the `Migrations/NNNN_description.sql` resources of its module
    /// (`Migrator.Migration.bundled(in: .module, owner: name)`).
    func migrations() throws -> [Migrator.Migration]

    /// What `service` runs of it, built once at start from the runtime's connections and the
    /// environment; a bad setting throws (the service then stops, naming the variable).
    func parts(for service: ServiceName, runtime: ServiceRuntime) async throws -> WorkloadParts
}

/// What one workload contributes to one service.
public struct WorkloadParts: Sendable {
    /// ingest: its HTTP routes.
    public var routes: [any WorkloadRoutes]
    /// What runs for as long as the service does: queue workers, pollers, in-memory indexes.
    public var services: [any Service]
    /// ingest: the largest request body any of its routes accepts (the idempotency fingerprint
    /// reads requests up to the largest of all).
    public var largestBodyBytes: Int
    /// ingest: `/metrics` for `Accept: application/json`, when the workload defines one.
    public var jsonMetrics: (@Sendable () async throws -> Response)?

    public init(routes: [any WorkloadRoutes] = [], services: [any Service] = [], largestBodyBytes: Int = 0,
                jsonMetrics: (@Sendable () async throws -> Response)? = nil) {
        self.routes = routes
        self.services = services
        self.largestBodyBytes = largestBodyBytes
        self.jsonMetrics = jsonMetrics
    }

    /// Nothing: the workload has no part in this service.
    public static let none = WorkloadParts()

    /// Everything several workloads contribute, in their order.
    public static func combining(_ parts: [WorkloadParts]) -> WorkloadParts {
        WorkloadParts(routes: parts.flatMap(\.routes), services: parts.flatMap(\.services),
                      largestBodyBytes: parts.map(\.largestBodyBytes).max() ?? 0,
                      jsonMetrics: parts.compactMap(\.jsonMetrics).first)
    }
}

/// A workload's HTTP routes, added to ingest's router.
public protocol WorkloadRoutes: Sendable {
    func addRoutes(to router: Router<APIRequestContext>)
}
