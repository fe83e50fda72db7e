import CCurl
import Platform

/// One SMTP exchange through a libcurl easy handle: connect, (STARTTLS,) login, MAIL FROM,
/// RCPT TO for each recipient, DATA, QUIT. Blocking from start to end: it runs on one of the
/// SMTP client's own threads only, and the handle is created, used and cleaned up by that one
/// thread, within `run`. No pointer leaves it.
struct SMTPTransfer {
    /// How an exchange ended, before `SMTPClient` maps it onto its error types.
    enum Outcome: Equatable {
        case sent
        /// The server refused for good (a 5xx reply).
        case permanent(code: Int, reply: String, detail: String)
        /// Worth trying again later: unreachable, timed out, a 4xx reply, TLS or I/O trouble.
        case transient(String)
        /// libcurl could not even try (bad option, out of memory): retrying will not help.
        case failed(String)
    }

    let configuration: SMTPConfiguration
    let sender: MailAddress
    let recipients: [MailAddress]
    let message: [UInt8]

    func run() -> Outcome {
        if let problem = CurlGlobal.ensureInitialised() { return .failed(problem) }
        guard let handle = curl_easy_init() else { return .failed("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        var recipientList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(recipientList) }
        for recipient in recipients {
            guard let extended = curl_slist_append(recipientList, "<\(recipient.address)>") else { return .failed("out of memory") }
            recipientList = extended
        }
        let transfer = UnsafeMutablePointer<switchyard_curl_transfer>.allocate(capacity: 1)
        transfer.initialize(to: switchyard_curl_transfer())
        defer { transfer.deallocate() }

        return message.withUnsafeBufferPointer { bytes -> Outcome in
            transfer.pointee.upload = UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self)
            transfer.pointee.upload_length = bytes.count
            if let problem = configure(handle, transfer: transfer, recipients: recipientList) { return .failed(problem) }
            let code = curl_easy_perform(handle)
            return outcome(of: code, handle: handle, transfer: transfer)
        }
    }

    /// Every option of the exchange; the name of the first one libcurl refused, else nil.
    private func configure(_ handle: UnsafeMutableRawPointer, transfer: UnsafeMutablePointer<switchyard_curl_transfer>,
                           recipients: UnsafeMutablePointer<curl_slist>?) -> String? {
        let isImplicitTLS = configuration.url.lowercased().hasPrefix("smtps:")
        var longs: [(CURLoption, Int, String)] = [
            // Threads and signals do not mix: without this, libcurl's resolver timeout uses SIGALRM.
            (CURLOPT_NOSIGNAL, 1, "NOSIGNAL"),
            // The whole exchange has one deadline, connect included.
            (CURLOPT_TIMEOUT_MS, max(1, configuration.timeout.milliseconds), "TIMEOUT_MS"),
            (CURLOPT_FOLLOWLOCATION, 0, "FOLLOWLOCATION"),
            (CURLOPT_SSL_VERIFYPEER, 1, "SSL_VERIFYPEER"),
            (CURLOPT_SSL_VERIFYHOST, 2, "SSL_VERIFYHOST"),
        ]
        if !isImplicitTLS {
            // smtp://: upgrade with STARTTLS when the server offers it (verified like smtps://);
            // a server that offers none, like the local sink, is spoken to in the clear.
            longs.append((CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue), "USE_SSL"))
        }
        for (option, value, name) in longs where switchyard_curl_setopt_long(handle, option, value) != CURLE_OK {
            return "CURLOPT_\(name)"
        }
        var strings: [(CURLoption, String, String)] = [
            (CURLOPT_URL, configuration.url, "URL"),
            // SMTP only: a URL can never make this handle speak another protocol.
            (CURLOPT_PROTOCOLS_STR, "smtp,smtps", "PROTOCOLS_STR"),
            (CURLOPT_MAIL_FROM, "<\(sender.address)>", "MAIL_FROM"),
        ]
        if let caFile = configuration.caFile { strings.append((CURLOPT_CAINFO, caFile, "CAINFO")) }
        for (option, value, name) in strings where switchyard_curl_setopt_string(handle, option, value) != CURLE_OK {
            return "CURLOPT_\(name)"  // never the value: the URL may hold a password
        }
        if switchyard_curl_setopt_list(handle, CURLOPT_MAIL_RCPT, recipients) != CURLE_OK { return "CURLOPT_MAIL_RCPT" }
        if switchyard_curl_attach(handle, transfer) != CURLE_OK { return "the upload and reply callbacks" }
        return nil
    }

    private func outcome(of code: CURLcode, handle: UnsafeMutableRawPointer,
                         transfer: UnsafeMutablePointer<switchyard_curl_transfer>) -> Outcome {
        if code == CURLE_OK { return .sent }
        var reply: Int = 0
        _ = switchyard_curl_response_code(handle, &reply)
        let errorText = withUnsafePointer(to: &transfer.pointee.error) {
            $0.withMemoryRebound(to: CChar.self, capacity: Int(CURL_ERROR_SIZE)) { String(cString: $0) }
        }
        let replyText = withUnsafePointer(to: &transfer.pointee.reply) {
            $0.withMemoryRebound(to: CChar.self, capacity: Int(SWITCHYARD_CURL_REPLY_SIZE)) { String(cString: $0) }
        }
        let detail = errorText.isEmpty ? String(cString: curl_easy_strerror(code)) : errorText
        // The last reply code tells a refusal from trouble on the way: 5xx is final, 4xx asks
        // to come back later (RFC 5321 §4.2.1). A code below 400 means the server was content
        // and the exchange broke for another reason (I/O, timeout), told by libcurl's code.
        switch reply {
        case 500..<600:
            return .permanent(code: reply, reply: replyText, detail: detail)
        case 400..<500:
            return .transient("\(detail) (\(replyText.isEmpty ? "reply \(reply)" : replyText))")
        default:
            break
        }
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN, CURLE_OUT_OF_MEMORY,
             CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION, CURLE_FAILED_INIT, CURLE_ABORTED_BY_CALLBACK,
             CURLE_READ_ERROR:
            return .failed(detail)
        default:
            // Unreachable, refused, reset, timed out, TLS handshake or verification failed,
            // an answer cut off: the server (or the way to it) is not working now.
            return .transient(detail)
        }
    }
}
