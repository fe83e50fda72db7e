import DocumentChecks
import Foundation
import TestSupport

/// The committed fixtures (Tests/Fixtures/documents, made by its make_fixtures.py) and broken
/// copies of them written to temporary files.
enum DocumentFixtures {
    static let folder = TestServers.root.appendingPathComponent("Tests/Fixtures/documents")

    static func path(_ name: String) -> String {
        folder.appendingPathComponent(name).path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// Writes `bytes` to a new temporary file, runs `body` with its path, then deletes it.
    static func withFile<T>(_ bytes: [UInt8], suffix: String, _ body: (String) async throws -> T) async throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("document-check-\(UUID().uuidString).\(suffix)")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try await body(url.path)
    }

    /// The reason `inspect` rejects `bytes` with, or nil when it accepts them (any other error
    /// is thrown).
    static func rejection(of bytes: [UInt8], as kind: DocumentKind, limits: DocumentLimits = .default) async throws -> String? {
        try await withFile(bytes, suffix: kind.rawValue) { path in
            try await rejection(ofFileAt: path, as: kind, limits: limits)
        }
    }

    static func rejection(ofFileAt path: String, as kind: DocumentKind, limits: DocumentLimits = .default) async throws -> String? {
        do {
            _ = try await DocumentCheck.inspect(file: path, as: kind, limits: limits)
            return nil
        } catch let rejected as DocumentRejected {
            return rejected.reason
        }
    }
}

extension Array where Element == UInt8 {
    /// Where `text` first occurs.
    func offset(of text: String) -> Int? {
        let needle = Array(text.utf8)
        guard count >= needle.count else { return nil }
        return (0...(count - needle.count)).first { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
