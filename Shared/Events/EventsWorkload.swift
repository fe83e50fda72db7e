import Foundation
import Platform

/// The events feed (seed 004), stage by stage:
///
///     ingest        GET /search, from an in-memory index of the searchable events
///     processing    the poller (one replica at a time, by a Redis lease): the provider's XML
///                   document, parsed as a stream, in batches to events.store
///     storage       events.store -> upsert (newest values win, "ever online" sticky), then the
///                   search cache version is bumped
///     notification  nothing
public struct EventsWorkload: Workload {
    public init() {}

    public var name: String { "events" }

    public var queues: [WorkQueue] { EventsQueues.all }

    public func migrations() throws -> [Migrator.Migration] {
        try Migrator.Migration.bundled(in: .module, owner: name)
    }

    public func parts(for service: ServiceName, runtime: ServiceRuntime) async throws -> WorkloadParts {
        switch service {
        case .ingest:
            let search = try EventsSearch(runtime: runtime)
            return WorkloadParts(routes: [search], services: search.services)
        case .storage:
            return WorkloadParts(services: [runtime.worker(EventsStorageHandler(runtime: runtime))])
        case .processing:
            return WorkloadParts(services: [try FeedPoller(runtime: runtime)])
        case .notification:
            return .none
        }
    }
}
