import Foundation
import Postgres

/// Opens the blob store that `BLOB_STORE` names:
///
/// | `BLOB_STORE` | driver |
/// |---|---|
/// | `file:///absolute/folder` (default: `.run/blobs` of the local run) | ``FolderBlobStore`` |
/// | `postgres` | ``PostgresBlobStore`` on `database` (the service's `DATABASE_URL`) |
/// | `s3://bucket?endpoint=http://host:port&region=us-east-1` (credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`) | ``S3BlobStore`` |
/// | `memory://` | ``MemoryBlobStore`` (in-process tests only) |
///
/// Every service that touches files opens the same store: ingest writes uploads, processing
/// reads them and writes built exports, ingest streams downloads.
public enum BlobStores {
    static let expected = "expected file:///absolute/path, s3://bucket?endpoint=...&region=..., postgres or memory://"

    public static func open(environment: EnvironmentReader, defaultFolder: String, database: PostgresPool? = nil) throws -> any BlobStore {
        let text = environment.string("BLOB_STORE", default: "file://" + defaultFolder)
        if text == "postgres" {
            guard let database else {
                throw ConfigurationError(variable: "BLOB_STORE", problem: "postgres needs the service's database, and none was given")
            }
            return PostgresBlobStore(database: database)
        }
        guard let url = URL(string: text), let scheme = url.scheme else {
            throw ConfigurationError(variable: "BLOB_STORE", problem: "\(expected), got \"\(text)\"")
        }
        switch scheme {
        case "file":
            guard url.path.hasPrefix("/"), url.host == nil || url.host == "" else {
                throw ConfigurationError(variable: "BLOB_STORE", problem: "\(expected), got \"\(text)\"")
            }
            return FolderBlobStore(root: URL(fileURLWithPath: url.path, isDirectory: true))
        case "memory":
            return MemoryBlobStore()
        case "s3":
            return try S3BlobStore(blobStore: text, environment: environment)
        default:
            throw ConfigurationError(variable: "BLOB_STORE", problem: "unknown store \"\(scheme)\": \(expected)")
        }
    }
}
