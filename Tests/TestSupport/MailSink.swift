import Foundation

/// A real SMTP server for one test: `scripts/mail_sink.py` (aiosmtpd) started as a process on
/// a free loopback port, writing each mail it accepts to its own `.eml` file in a fresh
/// temporary folder. Stop it with `stop()`; the folder goes with it.
public final class MailSink: @unchecked Sendable {
    // @unchecked: every property is set once, in init.
    public let port: Int
    public let folder: URL
    private let process: Process

    /// `smtp://127.0.0.1:<port>` (`smtps://` when started with a certificate).
    public let url: String

    /// Starts the sink; with `tls`, it serves implicit TLS (smtps) with that certificate and key.
    public static func start(tls: (certificate: String, key: String)? = nil) async throws -> MailSink {
        // Reading the port the sink prints blocks: done on a Dispatch worker, not in the pool.
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try MailSink(tls: tls) })
            }
        }
    }

    private init(tls: (certificate: String, key: String)?) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mail-sink-\(UUID().uuidString)")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", TestServers.root.appendingPathComponent("scripts/mail_sink.py").path,
                         "--port", "0", "--folder", folder.path, "--exit-with-parent"]
        if let tls { arguments += ["--tls-cert", tls.certificate, "--tls-key", tls.key] }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        // Not the test runner's: a sink holding that open keeps `swift test` waiting for it.
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line names the port: "listening on 127.0.0.1:PORT, mail in ...".
        var line: [UInt8] = []
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let portText = text.split(separator: ":").dropFirst().first?.prefix(while: \.isNumber), let port = Int(portText) else {
            process.terminate()
            throw HTTP.Failure(description: "the mail sink did not start: \"\(text)\"")
        }
        self.port = port
        url = "\(tls == nil ? "smtp" : "smtps")://127.0.0.1:\(port)"
    }

    /// The `.eml` files written so far, oldest first (names start with the time).
    public func mailFiles() throws -> [URL] {
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "eml" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Waits until at least `count` mails are there (at most `timeout`) and returns them all.
    public func waitForMails(count: Int, timeout: Duration = .seconds(10)) async throws -> [URL] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let files = try mailFiles()
            if files.count >= count || ContinuousClock.now > deadline { return files }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGTERM, wait for the process, delete the folder.
    public func stop() {
        if process.isRunning {
            process.terminate()
            // Bounded: a sink that ignores SIGTERM is killed rather than waited on forever.
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A mail file read back by Python's `email` package (policy `default`): an independent parser
/// that decodes RFC 2047 words, quoted-printable and the charset the way mail clients do.
public struct ParsedMail: Decodable, Sendable {
    /// Every header in order, values decoded (an encoded subject comes back as its text).
    public let headers: [[String]]
    /// The body, decoded, line ends as LF.
    public let body: String
    /// The `Date` header as seconds since 1970.
    public let date: Double?
    /// What the parser found wrong with the message (nothing, for a well-formed one).
    public let defects: [String]

    /// The values of every header called `name` (case-insensitive).
    public func values(_ name: String) -> [String] {
        headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
    }

    private static let script = """
        import email, email.policy, json, sys
        with open(sys.argv[1], "rb") as file:
            message = email.message_from_binary_file(file, policy=email.policy.default)
        date = message["Date"]
        defects = [repr(d) for d in message.defects] + [repr(d) for _, v in message.items() for d in v.defects]
        print(json.dumps({"headers": [[k, str(v)] for k, v in message.items()],
                          "body": message.get_content().replace("\\r\\n", "\\n"),
                          "date": date.datetime.timestamp() if date is not None and date.datetime else None,
                          "defects": defects}))
        """

    public static func read(_ file: URL) throws -> ParsedMail {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, file.path]
        let output = Pipe()
        process.standardOutput = output
        // Not the test runner's: a sink holding that open keeps `swift test` waiting for it.
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONDecoder().decode(ParsedMail.self, from: data)
    }
}
