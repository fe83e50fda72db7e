import NIOCore
import Platform

/// Every searchable event at one moment, in answer order, never changed once built: a request
/// reads the snapshot it found while ``SearchIndex`` builds the next one beside it.
final class SearchIndexSnapshot: Sendable {
    /// By start, then id, as `/search` answers.
    let events: [IndexedEvent]
    /// Rows written by this transaction or a later one may be missing: the next refresh reads
    /// from here.
    let watermark: UInt64
    /// About what ``events`` holds in memory.
    let bytes: Int
    /// The count of statements that had removed events when this copy started
    /// (``EventsRepository/removalGeneration(on:)``): at another count, reload from scratch.
    let generation: Int64

    /// Nothing yet: the next refresh reads every searchable event.
    static func empty(generation: Int64) -> SearchIndexSnapshot {
        SearchIndexSnapshot(events: [], watermark: 0, bytes: 0, generation: generation)
    }

    private init(events: [IndexedEvent], watermark: UInt64, bytes: Int, generation: Int64) {
        self.events = events
        self.watermark = watermark
        self.bytes = bytes
        self.generation = generation
    }

    /// This snapshot with `changed` (new events and new values of known ones, each id once)
    /// in place. One pass over the events (a new value may move an event anywhere), so a
    /// refresh that found nothing costs nothing, and one that found a batch costs a copy of
    /// the array, not a sort of it.
    func merging(_ changed: [IndexedEvent], watermark: UInt64) -> SearchIndexSnapshot {
        guard !changed.isEmpty else { return SearchIndexSnapshot(events: events, watermark: watermark, bytes: bytes, generation: generation) }
        let incoming = changed.sorted(by: IndexedEvent.precedes)
        let replaced = Set(changed.map(\.id))
        var merged: [IndexedEvent] = []
        merged.reserveCapacity(events.count + incoming.count)
        var bytes = 0
        var next = 0
        for event in events where !replaced.contains(event.id) {
            while next < incoming.count, IndexedEvent.precedes(incoming[next], event) {
                merged.append(incoming[next])
                bytes += incoming[next].footprint
                next += 1
            }
            merged.append(event)
            bytes += event.footprint
        }
        for event in incoming[next...] {
            merged.append(event)
            bytes += event.footprint
        }
        return SearchIndexSnapshot(events: merged, watermark: watermark, bytes: bytes, generation: generation)
    }

    /// How many events a window has to look at: those starting from `startsAt` up to `endsAt`
    /// (two binary searches). What decides whether answering it is too much work for a thread
    /// of the cooperative pool.
    func candidateCount(startsAt: Int64?, endsAt: Int64?) -> Int {
        let first = startsAt.map { bound in firstPosition { $0.startsAt >= bound } } ?? 0
        let end = endsAt.map { bound in firstPosition { $0.startsAt > bound } } ?? events.count
        return max(0, end - first)
    }

    /// The first position whose event satisfies `isAtOrPast` (a predicate that is false, then
    /// true, along the start order), or the count when none does.
    private func firstPosition(where isAtOrPast: (IndexedEvent) -> Bool) -> Int {
        var lower = 0
        var upper = events.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if isAtOrPast(events[middle]) { upper = middle } else { lower = middle + 1 }
        }
        return lower
    }

    /// The positions of the events with start >= `startsAt` and end <= `endsAt` (microseconds;
    /// nil: unbounded), in answer order; nil when more than `maxEvents` match. Found by binary
    /// search on the start, then read up to the first event starting after `endsAt` (an event
    /// cannot start after it ends).
    func window(startsAt: Int64?, endsAt: Int64?, maxEvents: Int) -> [Int]? {
        var position = startsAt.map { bound in firstPosition { $0.startsAt >= bound } } ?? 0
        var matches: [Int] = []
        while position < events.count {
            let event = events[position]
            if let endsAt {
                if event.startsAt > endsAt { break }
                if event.endsAt > endsAt { position += 1; continue }
            }
            if matches.count == maxEvents { return nil }
            matches.append(position)
            position += 1
        }
        return matches
    }

    /// The strong ETag of the answer made of these events: a hash of their hashes, in order, so
    /// that two ingest processes holding the same events give the same tag.
    func etag(of matches: [Int]) -> String {
        SearchETag.of(digests: matches.lazy.map { self.events[$0].digest }, count: matches.count)
    }

    /// `{"data":{"events":[...]},"error":null}` for these events, straight into one buffer.
    func envelope(of matches: [Int]) -> ByteBuffer {
        let prefix = #"{"data":{"events":["#
        let suffix = #"]},"error":null}"#
        var size = prefix.utf8.count + suffix.utf8.count + matches.count
        for position in matches { size += events[position].json.count }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeString(prefix)
        for (index, position) in matches.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeBytes(events[position].json)
        }
        buffer.writeString(suffix)
        return buffer
    }
}
