import CHiredis
import ClientSupport
import Foundation

/// One hiredis connection. Every call blocks, so a connection belongs to one ``RedisLane``
/// and is only used from that lane's thread.
public final class RedisConnection: @unchecked Sendable {
    // @unchecked: the redisContext is touched only by the thread of the lane that owns it.
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects from `redis://[:password@]host:port[/db]`, with timeouts and TCP keepalive.
    public init(url: String, timeoutSeconds: Int = 5) throws {
        guard let parsed = URLComponents(string: url), parsed.scheme == "redis", let host = parsed.host else {
            throw RedisError(.connection, "REDIS_URL must look like redis://host:port/db, got \(redactingPassword(in: url))")
        }
        let timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        guard let context = redisConnectWithTimeout(host, Int32(parsed.port ?? 6379), timeout) else {
            throw RedisError(.connection, "out of memory allocating a connection")
        }
        self.context = context
        if context.pointee.err != 0 {
            throw RedisError(.connection, "connecting to \(host): \(errorText)")  // deinit frees the context
        }
        redisSetTimeout(context, timeout)
        redisEnableKeepAlive(context)
        if let password = parsed.password, !password.isEmpty {
            let user = parsed.user.flatMap { $0.isEmpty ? nil : $0 }
            _ = try send(user.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        let database = parsed.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if let number = Int(database), number != 0 { _ = try send(["SELECT", number]) }
    }

    deinit { redisFree(context) }

    /// After an I/O error hiredis cannot reuse the context: the lane dials a new one.
    public var isUsable: Bool { context.pointee.err == 0 }

    /// Sends one command and waits for its reply. A server error reply is thrown.
    public func send(_ command: [any RedisArgument]) throws -> RedisValue {
        let reply = try pipeline([command])[0]
        if case .error(let message) = reply { throw RedisError(.server, message) }
        return reply
    }

    /// Pipelining: writes every command, then reads every reply, in one round trip.
    /// Error replies come back in place as `.error` so one failure does not hide the others.
    public func pipeline(_ commands: [[any RedisArgument]]) throws -> [RedisValue] {
        for command in commands {
            let arguments = command.map(\.redisBytes)
            let status = withArgv(arguments) { count, argv, lengths in
                redisAppendCommandArgv(context, count, argv, lengths)
            }
            guard status == REDIS_OK else { throw RedisError(.connection, errorText) }
        }
        var replies = [RedisValue]()
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw RedisError(.connection, errorText) }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(RedisValue(reply.pointee))
            freeReplyObject(raw)  // frees the whole tree; nested replies are never freed alone
        }
        return replies
    }

    private var errorText: String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension RedisValue {
    init(_ reply: redisReply) {
        switch Int32(reply.type) {
        case REDIS_REPLY_STRING:
            self = .bulk(Array(UnsafeRawBufferPointer(start: reply.str, count: reply.len)))
        case REDIS_REPLY_STATUS:
            self = .status(String(cString: reply.str))
        case REDIS_REPLY_ERROR:
            self = .error(String(cString: reply.str))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(reply.integer))
        case REDIS_REPLY_ARRAY:
            self = .array((0..<reply.elements).map { RedisValue(reply.element[$0]!.pointee) })
        default:
            self = .null
        }
    }
}

/// Passes byte arrays to hiredis as `argv`/`argvlen`, valid only for the duration of `body`.
private func withArgv<R>(_ arguments: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
    let buffers = arguments.map { bytes -> UnsafeMutableBufferPointer<CChar> in
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(bytes.count, 1))
        _ = buffer.initialize(from: bytes.lazy.map { CChar(bitPattern: $0) })
        return buffer
    }
    defer { buffers.forEach { $0.deallocate() } }
    var pointers = buffers.map { UnsafePointer($0.baseAddress) }
    let lengths = arguments.map(\.count)
    return pointers.withUnsafeMutableBufferPointer { argv in
        lengths.withUnsafeBufferPointer { body(Int32(arguments.count), argv.baseAddress!, $0.baseAddress!) }
    }
}
