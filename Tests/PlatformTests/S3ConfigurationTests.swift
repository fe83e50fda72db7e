import AsyncHTTPClient
import NIOPosix
@testable import Platform
import Testing

/// `BLOB_STORE=s3://...` and what S3's answers mean, without a server.
@Suite("Platform: S3 blob store configuration and answers")
struct S3ConfigurationTests {
    static let credentials = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-value"]

    @Test func readsBucketEndpointRegionAndCredentials() throws {
        let environment = EnvironmentReader(Self.credentials.merging(["AWS_SESSION_TOKEN": "token"]) { $1 })
        let configuration = try S3Configuration(blobStore: "s3://invoices?endpoint=http://127.0.0.1:9000&region=eu-west-3", environment: environment)
        #expect(configuration.bucket == "invoices")
        #expect(configuration.region == "eu-west-3")
        #expect(configuration.baseURL == "http://127.0.0.1:9000")
        #expect(configuration.host == "127.0.0.1:9000")
        #expect(configuration.pathStyle)
        #expect(configuration.credentials.sessionToken == "token")
    }

    @Test func withoutAnEndpointItIsAWSVirtualHostedAddress() throws {
        let configuration = try S3Configuration(blobStore: "s3://invoices?region=eu-west-3", environment: EnvironmentReader(Self.credentials))
        #expect(configuration.baseURL == "https://invoices.s3.eu-west-3.amazonaws.com")
        #expect(!configuration.pathStyle)
        #expect(try S3Configuration(blobStore: "s3://invoices", environment: EnvironmentReader(Self.credentials)).region == "us-east-1")
    }

    @Test(arguments: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    func aMissingCredentialNamesItsVariable(_ variable: String) {
        var values = Self.credentials
        values[variable] = nil
        let error = #expect(throws: ConfigurationError.self) {
            try BlobStores.open(environment: EnvironmentReader(values.merging(["BLOB_STORE": "s3://invoices"]) { $1 }), defaultFolder: "/tmp")
        }
        #expect(error?.variable == variable)
    }

    @Test(arguments: ["s3://", "s3://Invoices", "s3://invoices/folder", "s3://invoices?endpoint=ftp://host", "s3://invoices?bucket=x"])
    func refusesMalformedURLs(_ text: String) {
        #expect(throws: ConfigurationError.self) { try S3Configuration(blobStore: text, environment: EnvironmentReader(Self.credentials)) }
    }

    @Test func theFactoryOpensAnS3Store() async throws {
        let store = try BlobStores.open(environment: EnvironmentReader(Self.credentials.merging(["BLOB_STORE": "s3://invoices?endpoint=http://127.0.0.1:9000"]) { $1 }),
                                        defaultFolder: "/tmp")
        #expect(store.kind == "s3")
        try await #require(store as? S3BlobStore).shutdown()
    }

    /// 5xx and SlowDown are outages (waited out); other refusals are failures.
    @Test func answersAreOutagesOrFailures() async throws {
        let configuration = try S3Configuration(bucket: "invoices", region: "us-east-1", endpoint: "http://127.0.0.1:9000",
                                                credentials: AWSCredentials(accessKeyID: "a", secretAccessKey: "b"))
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        defer { client.shutdown { _ in } }
        let connection = S3Connection(configuration: configuration, client: client)
        let slowDown = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        for (status, document) in [(503, slowDown), (500, "<Error><Code>InternalError</Code></Error>"), (502, "")] {
            let error = connection.answerFailure(status: status, document: document, operation: "put", key: "k")
            #expect((error as? DependencyOutage)?.dependency == "blobs", "\(status): \(error)")
        }
        let denied = connection.answerFailure(status: 403, document: "<Error><Code>AccessDenied</Code><Message>Access &amp; denied</Message></Error>",
                                              operation: "put", key: "k")
        #expect((denied as? BlobStoreError) == .failed(operation: "s3 put", detail: "S3 put invoices/k answered 403 AccessDenied: Access & denied"))
    }

    @Test func readsS3XML() {
        let listing = "<ListMultipartUploadsResult><Upload><Key>a</Key><UploadId>1</UploadId></Upload><Upload><Key>b&amp;c</Key><UploadId>2</UploadId></Upload></ListMultipartUploadsResult>"
        #expect(S3XML.all("Upload", in: listing).compactMap { S3XML.first("Key", in: $0) } == ["a", "b&c"])
        #expect(S3XML.isError("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>InternalError</Code></Error>"))
        #expect(!S3XML.isError("<?xml version=\"1.0\"?><CompleteMultipartUploadResult></CompleteMultipartUploadResult>"))
        #expect(S3XML.decode("&#x41;&#66;&quot;") == "AB\"")
    }

    @Test func readsContentRange() {
        #expect(S3BlobStore.contentRange("bytes 0-99/1000") == 0..<100)
        #expect(S3BlobStore.completeLength("bytes */1000") == 1000)
        #expect(S3BlobStore.contentRange("bytes */1000") == nil)
    }
}
