/// One `Range: bytes=...` request header against a resource of `size` bytes (RFC 9110 14.2).
/// Only a single range is served; several ranges, another unit or a malformed header are
/// answered with the whole resource, which the RFC allows (a server may ignore `Range`).
public enum ByteRange: Equatable, Sendable {
    case whole
    case part(ClosedRange<Int>)
    /// A well-formed range that starts at or past the end (416).
    case unsatisfiable

    public static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header, header.hasPrefix("bytes="), size > 0 else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        func number(_ text: Substring) -> Int? {
            guard !text.isEmpty, text.count <= 18, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else { return nil }
            return Int(text)
        }
        if first.isEmpty {
            // The last N bytes.
            guard let suffix = number(last) else { return .whole }
            return suffix == 0 ? .unsatisfiable : .part(max(0, size - suffix)...(size - 1))
        }
        guard let start = number(first) else { return .whole }
        guard start < size else { return .unsatisfiable }
        if last.isEmpty { return .part(start...(size - 1)) }
        guard let end = number(last), end >= start else { return .whole }
        return .part(start...min(end, size - 1))
    }
}
