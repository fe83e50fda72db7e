import CCurl

/// `curl_global_init`, exactly once per process, before the first easy handle: libcurl asks for
/// it to run before any other thread uses the library (it sets up OpenSSL). A static `let` is
/// initialised once, under a lock, on first use.
enum CurlGlobal {
    private static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// Nil when libcurl is ready, else why not.
    static func ensureInitialised() -> String? {
        initialised ? nil : "curl_global_init failed"
    }
}
