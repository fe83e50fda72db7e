@testable import Platform
import Testing

/// The in-process layer of the response caches is bounded by bytes, not only by entries:
/// 2,000 answers of megabytes each (a window varied by its fraction of a second, issue 12)
/// would have been gigabytes.
@Suite("Response cache: the in-process layer's memory bound")
struct LocalCacheLayerTests {
    @Test func answersBeyondTheByteBudgetStartTheLayerOver() {
        let layer = LocalLayer(freshness: .seconds(1))
        let answer = [UInt8](repeating: 1, count: 12 * 1_048_576)
        for query in 0..<5 { layer.put(answer, query: "q\(query)", version: "1") }
        // 60 MB fit; the sixth answer would pass 64 MB, so the layer starts over with it.
        #expect(layer.get("q0", version: "1") != nil)
        layer.put(answer, query: "q5", version: "1")
        #expect(layer.get("q0", version: "1") == nil)
        #expect(layer.get("q5", version: "1") != nil)
    }

    @Test func anAnswerLargerThanAQuarterOfTheBudgetIsNotKept() {
        let layer = LocalLayer(freshness: .seconds(1))
        layer.put([1, 2, 3], query: "small", version: "1")
        layer.put([UInt8](repeating: 1, count: 17 * 1_048_576), query: "huge", version: "1")
        #expect(layer.get("huge", version: "1") == nil)
        #expect(layer.get("small", version: "1") == [1, 2, 3])
    }
}
