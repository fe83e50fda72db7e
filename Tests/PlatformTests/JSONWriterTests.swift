import Foundation
import Platform
import Testing

@Suite("JSONWriter: hand-written JSON for the hot path")
struct JSONWriterTests {
    struct Sample: JSONWritable {
        var text: String
        var number: Int?
        var when: Date

        func write(to json: inout JSONWriter) {
            json.object { json in
                json.key("number"); json.int(number)
                json.key("text"); json.string(text)
                json.key("when"); json.date(when)
            }
        }
    }

    @Test(arguments: ["plain", "quote \" backslash \\ slash /", "line\nfeed\ttab\r\u{8}\u{c}", "nul \u{0} unit \u{1f}",
                      "héllo € 😀 𝄞", ""])
    func stringsSurviveAStandardParser(text: String) throws {
        let bytes = Sample(text: text, number: 42, when: Date(timeIntervalSince1970: 1_795_000_000.125)).jsonBytes
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["text"] as? String == text)
        #expect(object["number"] as? Int == 42)
        #expect(object["when"] as? String == "2026-11-18T11:06:40.125Z")
    }

    @Test func absentValuesAreNullAndNestingPlacesCommas() throws {
        struct List: JSONWritable {
            var items: [Sample]
            func write(to json: inout JSONWriter) {
                json.object { json in
                    json.key("empty"); json.array([Sample]())
                    json.key("items"); json.array(items)
                }
            }
        }
        let sample = Sample(text: "a", number: nil, when: Date(timeIntervalSince1970: 0))
        let text = String(decoding: List(items: [sample, sample]).jsonBytes, as: UTF8.self)
        #expect(text == #"{"empty":[],"items":[{"number":null,"text":"a","when":"1970-01-01T00:00:00.000Z"},{"number":null,"text":"a","when":"1970-01-01T00:00:00.000Z"}]}"#)
    }

    @Test func uuidsAreLowerCase() {
        var writer = JSONWriter()
        let id = UUID()
        writer.uuid(id)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"\(id.uuidString.lowercased())\"")
    }

    @Test func randomUUIDsAreVersionFour() {
        let ids = (0..<1000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.uuid.6 >> 4 == 4)
            #expect(id.uuid.8 >> 6 == 0b10)
        }
    }
}
