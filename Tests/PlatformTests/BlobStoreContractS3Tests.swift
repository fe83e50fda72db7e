import Platform
import Testing

/// The blob store contract on the S3 driver, against the moto server the test set-up starts
/// (a fresh bucket per check).
@Suite("Platform: blob store contract, S3 (moto)", .enabled(S3TestStore.skipMessage) { await S3TestStore.shouldRun() })
struct BlobStoreContractS3Tests {
    @Test(arguments: BlobStoreContract.Check.allCases)
    func contract(_ check: BlobStoreContract.Check) async throws {
        try await S3TestStore.with { store in try await check.run(on: store) }
    }
}
