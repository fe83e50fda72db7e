import Foundation
import Metrics

/// Provider health for `/metrics`: when the last fetch succeeded, how many have failed in a
/// row, and how many plans the documents held and how many were skipped as bad.
struct ProviderHealth: Sendable {
    let lastSuccess = Gauge(label: "switchyard_provider_last_success_timestamp_seconds")
    let consecutiveFailures = Gauge(label: "switchyard_provider_consecutive_failures")
    let parsed = Counter(label: "switchyard_provider_events_parsed_total")
    let skipped = Counter(label: "switchyard_provider_events_skipped_total")
    let rejectedDocuments = Counter(label: "switchyard_provider_documents_rejected_total")
    let fetches = Counter(label: "switchyard_provider_fetches_total", dimensions: [("outcome", "ok")])
    let notModified = Counter(label: "switchyard_provider_fetches_total", dimensions: [("outcome", "not_modified")])
    /// A whole document came, byte for byte the last one stored: nothing was published.
    let unchanged = Counter(label: "switchyard_provider_fetches_total", dimensions: [("outcome", "unchanged")])
    let failures = Counter(label: "switchyard_provider_fetches_total", dimensions: [("outcome", "failed")])
    /// A poll that stopped publishing because its lease was lost (or not renewed in time).
    let leaseLost = Counter(label: "switchyard_provider_fetches_total", dimensions: [("outcome", "lease_lost")])
}
