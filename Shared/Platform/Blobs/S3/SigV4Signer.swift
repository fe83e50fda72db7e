import Crypto
import Foundation

/// The keys a request is signed with: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for
/// temporary credentials, `AWS_SESSION_TOKEN`. Never logged: `description` names the key id only.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWS credentials \(accessKeyID)" }
}

/// What signing a request produced: the headers to send, and the intermediate texts (the
/// published test vectors check each step, and a refused signature is easier to explain).
public struct SigV4Signature: Sendable {
    public let canonicalRequest: String
    public let stringToSign: String
    /// Lowercase hex of the HMAC.
    public let signature: String
    /// The `Authorization` header's value.
    public let authorization: String
    /// Every header the request must carry, the caller's included, as they were signed, plus
    /// `authorization`.
    public let headers: [(name: String, value: String)]
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for requests sent with their signature in the
/// `Authorization` header. Written here because no AWS SDK is available: it is checked against
/// AWS's published SigV4 test suite (`SigV4SignerTests`).
///
/// The path is given *unencoded* and encoded once, segment by segment, the way S3 expects
/// (other services encode it twice; S3 does not, and a key with `%` in it would otherwise be
/// signed differently from how it is sent).
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The SHA-256 of an empty payload, which every GET, HEAD and DELETE signs.
    public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Signs a request. `headers` are the headers to sign (at least `host`; S3 also wants
    /// `x-amz-content-sha256`); the signer adds `x-amz-date` and, with a session token,
    /// `x-amz-security-token`. `query` holds unencoded names and values (`("uploads", "")`).
    public func sign(method: String, path: String, query: [(name: String, value: String)] = [],
                     headers: [(name: String, value: String)], payloadSHA256: String, date: Date) -> SigV4Signature {
        let timestamp = Self.timestamp(date)
        let day = String(timestamp.prefix(8))
        var all = headers
        all.append((name: "x-amz-date", value: timestamp))
        if let token = credentials.sessionToken { all.append((name: "x-amz-security-token", value: token)) }

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(all)
        let canonicalRequest = [
            method, Self.encodePath(path), Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadSHA256,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp, scope, SHA256Hex.of(Array(canonicalRequest.utf8)),
        ].joined(separator: "\n")
        let signature = SHA256Hex.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        all.append((name: "authorization", value: authorization))
        return SigV4Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
                              authorization: authorization, headers: all)
    }

    /// The key of one day, region and service, derived from the secret by the chain of HMACs
    /// SigV4 prescribes (so the secret itself never signs a request).
    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// `20150830T123600Z`: the request's time in UTC, to the second.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(parts.year ?? 1970)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
    }

    /// Lowercase names, sorted; values trimmed with inner runs of spaces made one; a name
    /// given more than once has its values joined by commas in the order given.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var values: [String: [String]] = [:]
        for header in headers {
            let value = header.value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            values[header.name.lowercased(), default: []].append(value.trimmingCharacters(in: .whitespaces))
        }
        let names = values.keys.sorted()
        let canonical = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    /// Names and values encoded, sorted by name then value, `name=value` joined by `&`.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { pair in (name: encode(pair.name), value: encode(pair.value)) }
        let sorted = encoded.sorted { left, right in left.name == right.name ? left.value < right.value : left.name < right.name }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// Each `/`-separated segment encoded once; the slashes kept.
    public static func encodePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "/")
    }

    /// RFC 3986 encoding as SigV4 wants it: every byte of the UTF-8 but the unreserved
    /// `A-Z a-z 0-9 - . _ ~` as `%XX` with uppercase hex (a space is `%20`, never `+`).
    public static func encode(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(byte)
            default:
                encoded += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}
