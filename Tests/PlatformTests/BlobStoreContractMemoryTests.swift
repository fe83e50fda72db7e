import Platform
import Testing

/// The blob store contract on the in-memory driver.
@Suite("Platform: blob store contract, memory")
struct BlobStoreContractMemoryTests {
    let store = MemoryBlobStore()

    @Test(arguments: BlobStoreContract.Check.allCases)
    func contract(_ check: BlobStoreContract.Check) async throws {
        try await check.run(on: store)
    }
}
