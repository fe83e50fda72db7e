import Foundation

/// Opens the blob store that `BLOB_STORE` names:
///
/// | `BLOB_STORE` | driver |
/// |---|---|
/// | `file:///absolute/folder` (default: `.run/blobs` of the local run) | ``FolderBlobStore`` |
/// | `s3://bucket?endpoint=http://host:port&region=us-east-1` (credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`) | ``S3BlobStore`` |
/// | `memory://` | ``MemoryBlobStore`` (in-process tests only) |
///
/// Every service that touches files opens the same store: ingest writes uploads, processing
/// reads them and writes built exports, ingest streams downloads.
public enum BlobStores {
    public static func open(environment: EnvironmentReader, defaultFolder: String) throws -> any BlobStore {
        let text = environment.string("BLOB_STORE", default: "file://" + defaultFolder)
        guard let url = URL(string: text), let scheme = url.scheme else {
            throw ConfigurationError(variable: "BLOB_STORE", problem: "expected file:///absolute/path, s3://bucket?endpoint=...&region=... or memory://, got \"\(text)\"")
        }
        switch scheme {
        case "memory":
            return MemoryBlobStore()
        case "s3":
            return try S3BlobStore(blobStore: text, environment: environment)
        default:
            throw ConfigurationError(variable: "BLOB_STORE", problem: "unknown store \"\(scheme)\": expected file:///absolute/path, s3://bucket or memory://")
        }
    }
}
