import Foundation

/// Where an ``S3BlobStore`` keeps its blobs and how it signs in, read from
/// `BLOB_STORE=s3://bucket?endpoint=http://host:port&region=us-east-1` and the usual
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and (temporary credentials) `AWS_SESSION_TOKEN`.
///
/// With `endpoint` (MinIO, moto, Ceph...), requests use path-style addresses
/// (`http://host:port/bucket/key`), which every S3-compatible server understands; without it,
/// AWS's virtual-hosted address of the region (`https://bucket.s3.region.amazonaws.com/key`).
public struct S3Configuration: Sendable {
    public let bucket: String
    public let region: String
    public let credentials: AWSCredentials
    /// `scheme://host[:port]`, without a trailing slash.
    public let baseURL: String
    /// The `Host` header, as signed.
    public let host: String
    public let pathStyle: Bool
    /// The longest wait for a request's answer to begin (a part of 8 MiB included); the body
    /// of a read then streams as fast as its consumer takes it.
    public var requestTimeout: Duration = .seconds(60)
    public var connectTimeout: Duration = .seconds(5)

    public init(bucket: String, region: String, endpoint: String?, credentials: AWSCredentials) throws(ConfigurationError) {
        guard Self.isValidBucket(bucket) else {
            throw ConfigurationError(variable: "BLOB_STORE", problem: "\"\(bucket)\" is not an S3 bucket name (3 to 63 of a-z 0-9 . -)")
        }
        guard !region.isEmpty, region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw ConfigurationError(variable: "BLOB_STORE", problem: "region \"\(region)\" is not an AWS region name")
        }
        self.bucket = bucket
        self.region = region
        self.credentials = credentials
        if let endpoint {
            guard let url = URLComponents(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme),
                  let host = url.host, !host.isEmpty, url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil else {
                throw ConfigurationError(variable: "BLOB_STORE", problem: "endpoint must be http(s)://host[:port], got \"\(endpoint)\"")
            }
            let hostPort = url.port.map { "\(host):\($0)" } ?? host
            self.baseURL = "\(scheme)://\(hostPort)"
            self.host = hostPort
            self.pathStyle = true
        } else {
            self.host = "\(bucket).s3.\(region).amazonaws.com"
            self.baseURL = "https://\(host)"
            self.pathStyle = false
        }
    }

    /// Reads `BLOB_STORE` (an `s3://` URL) and the AWS variables; a missing credential names
    /// its variable, so a deployment fails at start rather than at its first upload.
    public init(blobStore text: String, environment: EnvironmentReader) throws(ConfigurationError) {
        guard let url = URLComponents(string: text), url.scheme == "s3", let bucket = url.host, !bucket.isEmpty else {
            throw ConfigurationError(variable: "BLOB_STORE", problem: "expected s3://bucket?endpoint=http://host:port&region=..., got \"\(text)\"")
        }
        guard url.path.isEmpty || url.path == "/" else {
            throw ConfigurationError(variable: "BLOB_STORE", problem: "an s3:// store names a bucket, not a folder in it: \"\(url.path)\"")
        }
        var endpoint: String?
        var region: String?
        for item in url.queryItems ?? [] {
            switch item.name {
            case "endpoint": endpoint = item.value
            case "region": region = item.value
            default: throw ConfigurationError(variable: "BLOB_STORE", problem: "unknown s3:// parameter \"\(item.name)\" (endpoint and region are known)")
            }
        }
        let credentials = AWSCredentials(
            accessKeyID: try Self.required("AWS_ACCESS_KEY_ID", in: environment),
            secretAccessKey: try Self.required("AWS_SECRET_ACCESS_KEY", in: environment),
            sessionToken: environment.values["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        try self.init(bucket: bucket, region: region ?? environment.string("AWS_REGION", default: "us-east-1"),
                      endpoint: endpoint, credentials: credentials)
    }

    private static func required(_ name: String, in environment: EnvironmentReader) throws(ConfigurationError) -> String {
        guard let value = environment.values[name], !value.isEmpty else {
            throw ConfigurationError(variable: name, problem: "required by BLOB_STORE=s3://... and not set")
        }
        return value
    }

    /// S3's rules for new buckets, loosely: what could be sent in a host name or a path.
    static func isValidBucket(_ name: String) -> Bool {
        (3...63).contains(name.count) && name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }
}
