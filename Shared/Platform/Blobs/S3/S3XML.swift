/// Reads the few values the blob store needs from S3's XML answers (`UploadId`, an error's
/// `Code` and `Message`, the uploads of a listing). S3's answers are machine-written, flat and
/// without namespaces prefixes on these elements, so a search for the element is enough and
/// spares a full XML parser (FoundationXML pulls libxml2 into every service).
enum S3XML {
    /// The text of the first `<name>` element, entities decoded; nil when there is none.
    static func first(_ name: String, in text: Substring) -> String? {
        guard let open = text.range(of: "<\(name)>"),
              let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else { return nil }
        return decode(text[open.upperBound..<close.lowerBound])
    }

    static func first(_ name: String, in text: String) -> String? { first(name, in: text[...]) }

    /// The inner text of every `<name>` element, in order (for repeated blocks such as
    /// `<Upload>`; the caller reads their fields with ``first(_:in:)``).
    static func all(_ name: String, in text: String) -> [Substring] {
        var found: [Substring] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(name)>"),
              let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(rest[open.upperBound..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return found
    }

    /// Whether the document is an error answer (S3 may send one with status 200 to a
    /// CompleteMultipartUpload that failed after it began answering).
    static func isError(_ text: String) -> Bool {
        var rest = text[...]
        if rest.hasPrefix("<?xml"), let end = rest.range(of: "?>") { rest = rest[end.upperBound...] }
        return rest.drop(while: { $0.isWhitespace }).hasPrefix("<Error>")
    }

    /// The five predefined entities and numeric character references.
    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var decoded = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            decoded += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": decoded += "&"
            case "lt": decoded += "<"
            case "gt": decoded += ">"
            case "quot": decoded += "\""
            case "apos": decoded += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) { decoded.unicodeScalars.append(scalar) } else { decoded += "&\(entity);" }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return decoded + rest
    }
}
