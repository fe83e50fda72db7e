import CRabbitMQ
import Foundation

/// One librabbitmq connection with one channel. librabbitmq is not thread-safe, so a
/// connection belongs to exactly one thread: ``AMQPPublisher`` and ``AMQPConsumer`` each own
/// one on a thread of their own. The CLI and tests may also drive one directly.
///
/// Ownership of the C state is simple on purpose: `init` either returns a logged-in connection
/// or throws having freed everything it allocated (no stored property is set before that
/// point, so Swift never runs `deinit` on a half-built object); `deinit` frees the state and
/// closes the socket without sending anything (a dead or blocked broker cannot make it wait);
/// only ``close()`` talks to the broker. An earlier version destroyed the state on a failed
/// connect and then let `deinit` close and destroy it again: every reconnect attempt against
/// a stopping broker was a use-after-free (SIGSEGV).
public final class AMQPConnection: @unchecked Sendable {
    // @unchecked: used by a single owning thread; the type is Sendable only so that the owner
    // can be handed the connection when its thread starts.
    let state: amqp_connection_state_t
    let channel: amqp_channel_t = 1
    /// False once the socket is known dead or the broker closed the connection: ``close()``
    /// then sends nothing.
    private var open = true

    /// `rpcTimeoutSeconds` bounds every synchronous call (login, declares, `close`): without it
    /// librabbitmq waits forever for a broker that accepted the socket but stopped answering.
    public init(url: AMQPURL, connectTimeoutSeconds: Int = 5, rpcTimeoutSeconds: Int = 10) throws {
        state = try Self.connect(url: url, channel: 1, connectTimeoutSeconds: connectTimeoutSeconds,
                                 rpcTimeoutSeconds: rpcTimeoutSeconds)
    }

    /// Opens the socket, logs in and opens the channel; on any failure frees the state exactly once and throws.
    private static func connect(url: AMQPURL, channel: amqp_channel_t, connectTimeoutSeconds: Int,
                                rpcTimeoutSeconds: Int) throws -> amqp_connection_state_t {
        guard let state = amqp_new_connection() else { throw AMQPError(.connection, "out of memory") }
        do {
            guard let socket = amqp_tcp_socket_new(state) else { throw AMQPError(.connection, "could not create a socket") }
            var rpcTimeout = timeval(tv_sec: rpcTimeoutSeconds, tv_usec: 0)
            _ = amqp_set_rpc_timeout(state, &rpcTimeout)
            _ = amqp_set_handshake_timeout(state, &rpcTimeout)
            var timeout = timeval(tv_sec: connectTimeoutSeconds, tv_usec: 0)
            let status = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
            guard status == AMQP_STATUS_OK.rawValue else {
                throw AMQPError(.connection, "connecting to \(url.host):\(url.port): \(String(cString: amqp_error_string2(status)))")
            }
            try checkHandshake(switchyard_amqp_login_plain(state, url.virtualHost, 0, 131_072, Int32(url.heartbeatSeconds),
                                                           url.user, url.password), "login")
            amqp_channel_open(state, channel)
            try checkHandshake(amqp_get_rpc_reply(state), "channel.open")
            return state
        } catch {
            amqp_destroy_connection(state)  // frees the state and closes the socket; nothing is sent
            throw error
        }
    }

    /// Errors of the handshake: the connection is unusable whatever went wrong.
    private static func checkHandshake(_ reply: amqp_rpc_reply_t, _ what: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw AMQPError(.connection, "\(what): \(String(cString: amqp_error_string2(reply.library_error)))")
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == switchyard_connection_close_method,
               let close = reply.reply.decoded?.assumingMemoryBound(to: amqp_connection_close_t.self) {
                throw AMQPError(.connection, "\(what): \(close.pointee.reply_text.string)", replyCode: Int(close.pointee.reply_code))
            }
            if reply.reply.id == switchyard_channel_close_method,
               let close = reply.reply.decoded?.assumingMemoryBound(to: amqp_channel_close_t.self) {
                throw AMQPError(.server, "\(what): \(close.pointee.reply_text.string)", replyCode: Int(close.pointee.reply_code))
            }
            throw AMQPError(.connection, "\(what): unexpected server method 0x\(String(reply.reply.id, radix: 16))")
        default:
            throw AMQPError(.connection, "\(what): no reply")
        }
    }

    deinit {
        // No network I/O here: `deinit` may run after the socket died, or while the broker is
        // blocked. Destroying the state closes the socket; the broker requeues what was unacked.
        amqp_destroy_connection(state)
    }

    /// Closes politely (the broker requeues whatever this connection left unacknowledged).
    public func close() {
        guard open else { return }
        open = false
        // Each call is bounded by the RPC timeout; a failure only means the broker is gone.
        _ = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
    }

    // MARK: - Declarations

    public func declare(_ topology: AMQPTopology) throws {
        for exchange in topology.exchanges {
            withAMQPBytes(exchange.name, exchange.type) { b in
                _ = amqp_exchange_declare(state, channel, b[0], b[1], 0, 1, 0, 0, amqp_empty_table)
            }
            try check(amqp_get_rpc_reply(state), "exchange.declare \(exchange.name)")
        }
        for queue in topology.queues {
            try withTable(queue.arguments) { table in
                withAMQPBytes(queue.name) { _ = amqp_queue_declare(state, channel, $0[0], 0, 1, 0, 0, table) }
                try check(amqp_get_rpc_reply(state), "queue.declare \(queue.name)")
            }
        }
        for binding in topology.bindings {
            withAMQPBytes(binding.queue, binding.exchange, binding.routingKey) { b in
                _ = amqp_queue_bind(state, channel, b[0], b[1], b[2], amqp_empty_table)
            }
            try check(amqp_get_rpc_reply(state), "queue.bind \(binding.queue)")
        }
    }

    /// One round trip that changes nothing: a passive declare of `amq.direct`, which every
    /// virtual host has. Proves the broker still answers on this connection.
    public func ping() throws {
        withAMQPBytes("amq.direct", "direct") { b in
            _ = amqp_exchange_declare(state, channel, b[0], b[1], 1, 0, 0, 0, amqp_empty_table)
        }
        try check(amqp_get_rpc_reply(state), "exchange.declare passive amq.direct")
    }

    /// Depth and consumers of a queue (a passive declare: fails with 404 if it does not exist).
    public func inspect(queue: String) throws -> AMQPQueueState {
        guard let ok = withAMQPBytes(queue, body: { amqp_queue_declare(state, channel, $0[0], 1, 0, 0, 0, amqp_empty_table) }) else {
            try check(amqp_get_rpc_reply(state), "queue.declare passive \(queue)")
            throw AMQPError(.connection, "queue.declare returned nothing")
        }
        return AMQPQueueState(name: queue, messageCount: Int(ok.pointee.message_count), consumerCount: Int(ok.pointee.consumer_count))
    }

    @discardableResult
    public func purge(queue: String) throws -> Int {
        guard let ok = withAMQPBytes(queue, body: { amqp_queue_purge(state, channel, $0[0]) }) else {
            try check(amqp_get_rpc_reply(state), "queue.purge \(queue)")
            throw AMQPError(.connection, "queue.purge returned nothing")
        }
        return Int(ok.pointee.message_count)
    }

    public func deleteQueue(_ queue: String) throws {
        withAMQPBytes(queue) { _ = amqp_queue_delete(state, channel, $0[0], 0, 0) }
        try check(amqp_get_rpc_reply(state), "queue.delete \(queue)")
    }

    // MARK: - Publishing

    /// Enables publisher confirms on the channel: the broker then acks every message once it is
    /// safely stored (for quorum queues: replicated and fsynced).
    public func enableConfirms() throws {
        amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "confirm.select")
        confirmedTag = 0
    }

    /// Delivery tags of this channel's publishes since `enableConfirms`, for `publishConfirmed`.
    private var confirmedTag: UInt64 = 0

    /// Sends one message and waits for the broker's confirm, for operators' tools where one
    /// message at a time is fast enough (services use ``AMQPPublisher``). Needs
    /// ``enableConfirms()`` first. Throws `.rejected` when the broker nacks the message,
    /// `.unroutable` when it returns it, `.timeout` when no confirm comes within `timeout`.
    public func publishConfirmed(_ message: AMQPOutgoingMessage, exchange: String, routingKey: String,
                                 timeout: TimeInterval = 10) throws {
        try send(message, exchange: exchange, routingKey: routingKey, mandatory: true)
        confirmedTag += 1
        let tag = confirmedTag
        var returned = false
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, let frame = try nextFrame(timeout: remaining) else {
                throw AMQPError(.timeout, "no confirm for message \(message.messageID) within \(Int(timeout)) s")
            }
            guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { continue }
            let method = frame.payload.method
            switch method.id {
            case switchyard_basic_return_method:
                // A return comes before the ack of the same message.
                var content = try readContent()
                amqp_destroy_message(&content)
                returned = true
            case switchyard_basic_ack_method:
                let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
                guard ack.delivery_tag == tag || (ack.multiple != 0 && ack.delivery_tag > tag) else { continue }
                if returned {
                    throw AMQPError(.unroutable, "no queue is bound to \(exchange) with key \(routingKey)")
                }
                return
            case switchyard_basic_nack_method:
                throw AMQPError(.rejected, "the broker nacked message \(message.messageID)")
            case switchyard_channel_close_method, switchyard_connection_close_method:
                throw serverClosed(frame)
            default:
                continue
            }
        }
    }

    /// Sends one message without waiting. `mandatory` makes the broker return it if no queue
    /// is bound for the routing key, rather than dropping it.
    public func send(_ message: AMQPOutgoingMessage, exchange: String, routingKey: String, mandatory: Bool = true) throws {
        let status = withAMQPBytes(exchange, routingKey, message.contentType, message.messageID, message.type ?? "") { b in
            var properties = amqp_basic_properties_t()
            properties._flags = amqp_flags_t(AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG
                | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG | (message.type == nil ? 0 : AMQP_BASIC_TYPE_FLAG))
            properties.content_type = b[2]
            properties.delivery_mode = 2
            properties.message_id = b[3]
            properties.type = b[4]
            properties.timestamp = UInt64(message.timestamp.timeIntervalSince1970)
            return message.body.withUnsafeBytes { body in
                amqp_basic_publish(state, channel, b[0], b[1], mandatory ? 1 : 0, 0, &properties,
                                   amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw libraryFailure(status, "basic.publish")
        }
    }

    // MARK: - Consuming

    func startConsuming(queue: String, prefetch: Int) throws {
        amqp_basic_qos(state, channel, 0, UInt16(clamping: prefetch), 0)
        try check(amqp_get_rpc_reply(state), "basic.qos")
        withAMQPBytes(queue) { _ = amqp_basic_consume(state, channel, $0[0], amqp_empty_bytes, 0, 0, 0, amqp_empty_table) }
        try check(amqp_get_rpc_reply(state), "basic.consume \(queue)")
    }

    /// Fetches one message synchronously (`basic.get`), for operators' tools; nil when empty.
    public func get(queue: String) throws -> AMQPDelivery? {
        let reply = withAMQPBytes(queue) { amqp_basic_get(state, channel, $0[0], 0) }
        try check(reply, "basic.get \(queue)")
        guard reply.reply.id == switchyard_basic_get_ok_method, let ok = reply.reply.decoded?.assumingMemoryBound(to: amqp_basic_get_ok_t.self) else {
            return nil
        }
        var message = amqp_message_t()
        try check(amqp_read_message(state, channel, &message, 0), "basic.get body")
        defer { amqp_destroy_message(&message) }
        return AMQPDelivery(message: message, deliveryTag: ok.pointee.delivery_tag, redelivered: ok.pointee.redelivered != 0,
                            exchange: ok.pointee.exchange.string, routingKey: ok.pointee.routing_key.string, generation: 0)
    }

    public func ack(_ delivery: AMQPDelivery) throws { try ack(tag: delivery.deliveryTag) }
    public func reject(_ delivery: AMQPDelivery, requeue: Bool) throws { try nack(tag: delivery.deliveryTag, requeue: requeue) }

    /// `multiple` also acks every earlier unacknowledged delivery of the channel.
    func ack(tag: UInt64, multiple: Bool = false) throws {
        let status = amqp_basic_ack(state, channel, tag, multiple ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw libraryFailure(status, "basic.ack") }
    }

    func nack(tag: UInt64, requeue: Bool) throws {
        let status = amqp_basic_nack(state, channel, tag, 0, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw libraryFailure(status, "basic.nack") }
    }

    // MARK: - Frames

    /// Whether librabbitmq already holds received bytes or frames we have not read yet
    /// (then polling the socket would miss them).
    var hasBufferedInput: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }
    var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// Runs `body` with the socket corked (when `condition` holds): librabbitmq flushes every
    /// message it sends, so without this each message would leave as its own TCP segment.
    /// Uncorking sends whatever is held at once.
    func coalescingWrites<T>(if condition: Bool = true, _ body: () throws -> T) rethrows -> T {
        guard condition else { return try body() }
        setCork(true)
        defer { setCork(false) }
        return try body()
    }

    private func setCork(_ on: Bool) {
        var value: Int32 = on ? 1 : 0
        _ = setsockopt(amqp_get_sockfd(state), Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads the next frame, or nil on timeout. Heartbeats are sent and checked inside.
    func nextFrame(timeout: TimeInterval) throws -> amqp_frame_t? {
        var frame = amqp_frame_t()
        var wait = timeval(seconds: timeout)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &wait)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw libraryFailure(status, "waiting for a frame")
        }
        return frame
    }

    /// Frees the memory of the frames read so far (librabbitmq keeps them in a per-channel pool
    /// until told). Only when no frame is queued unread, so no frame still in use is freed.
    public func releaseFrameBuffers() { amqp_maybe_release_buffers(state) }

    /// Reads the header and body frames that follow a `basic.deliver` or `basic.return`.
    func readContent() throws -> amqp_message_t {
        var message = amqp_message_t()
        try check(amqp_read_message(state, channel, &message, 0), "reading message content")
        return message
    }

    /// Turns a close method the broker sent into an error, answering close-ok first: the
    /// library does not, and without it the broker drops the whole connection.
    func serverClosed(_ frame: amqp_frame_t) -> AMQPError {
        let method = frame.payload.method
        if method.id == switchyard_channel_close_method, let close = method.decoded?.assumingMemoryBound(to: amqp_channel_close_t.self) {
            var ok = amqp_channel_close_ok_t()
            _ = amqp_send_method(state, frame.channel, switchyard_channel_close_ok_method, &ok)
            return AMQPError(.server, "channel closed: \(close.pointee.reply_text.string)", replyCode: Int(close.pointee.reply_code))
        }
        if method.id == switchyard_connection_close_method, let close = method.decoded?.assumingMemoryBound(to: amqp_connection_close_t.self) {
            var ok = amqp_connection_close_ok_t()
            _ = amqp_send_method(state, 0, switchyard_connection_close_ok_method, &ok)
            open = false
            return AMQPError(.connection, "connection closed by broker: \(close.pointee.reply_text.string)", replyCode: Int(close.pointee.reply_code))
        }
        return AMQPError(.connection, "unexpected method 0x\(String(method.id, radix: 16))")
    }

    func check(_ reply: amqp_rpc_reply_t, _ what: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == switchyard_channel_close_method, let close = reply.reply.decoded?.assumingMemoryBound(to: amqp_channel_close_t.self) {
                let error = AMQPError(.server, "\(what): \(close.pointee.reply_text.string)", replyCode: Int(close.pointee.reply_code))
                // The broker closed our only channel: acknowledge and reopen it so the connection stays usable.
                var ok = amqp_channel_close_ok_t()
                _ = amqp_send_method(state, channel, switchyard_channel_close_ok_method, &ok)
                amqp_channel_open(state, channel)
                _ = amqp_get_rpc_reply(state)
                throw error
            }
            if reply.reply.id == switchyard_connection_close_method, let close = reply.reply.decoded?.assumingMemoryBound(to: amqp_connection_close_t.self) {
                var ok = amqp_connection_close_ok_t()
                _ = amqp_send_method(state, 0, switchyard_connection_close_ok_method, &ok)
                open = false
                throw AMQPError(.connection, "\(what): \(close.pointee.reply_text.string)", replyCode: Int(close.pointee.reply_code))
            }
            throw AMQPError(.server, "\(what): unexpected server method 0x\(String(reply.reply.id, radix: 16))")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw libraryFailure(reply.library_error, what)
        default:
            open = false
            throw AMQPError(.connection, "\(what): no reply")
        }
    }

    /// A socket-level failure (I/O error, timeout, protocol error): librabbitmq cannot go on
    /// with this connection, so ``close()`` must not try to talk over it.
    private func libraryFailure(_ status: Int32, _ what: String) -> AMQPError {
        open = false
        return AMQPError(.connection, "\(what): \(String(cString: amqp_error_string2(status)))")
    }

    private func withTable<R>(_ arguments: [String: AMQPArgument], _ body: (amqp_table_t) throws -> R) throws -> R {
        // Keys and string values must outlive the call: copy them, free them after.
        var allocations: [UnsafeMutablePointer<CChar>] = []
        defer { allocations.forEach { free($0) } }
        func bytes(_ text: String) -> amqp_bytes_t {
            let copy = strdup(text)!
            allocations.append(copy)
            return amqp_bytes_t(len: strlen(copy), bytes: UnsafeMutableRawPointer(copy))
        }
        var entries: [amqp_table_entry_t] = arguments.sorted { $0.key < $1.key }.map { key, argument in
            var value = amqp_field_value_t()
            switch argument {
            case .string(let text):
                value.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                value.value.bytes = bytes(text)
            case .int(let number):
                value.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
                value.value.i64 = number
            case .bool(let flag):
                value.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
                value.value.boolean = flag ? 1 : 0
            }
            return amqp_table_entry_t(key: bytes(key), value: value)
        }
        return try entries.withUnsafeMutableBufferPointer { buffer in
            try body(amqp_table_t(num_entries: Int32(buffer.count), entries: buffer.baseAddress))
        }
    }
}


/// librabbitmq keeps the pointer of an `amqp_bytes_t`, and a Swift String bridged to
/// `const char *` lives only for one call: copy the strings, lend them to `body`, free them.
func withAMQPBytes<R>(_ strings: String..., body: ([amqp_bytes_t]) throws -> R) rethrows -> R {
    let copies = strings.map { strdup($0)! }
    defer { copies.forEach { free($0) } }
    return try body(copies.map { amqp_bytes_t(len: strlen($0), bytes: UnsafeMutableRawPointer($0)) })
}

extension amqp_bytes_t {
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }
    var byteArray: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }
}

extension timeval {
    init(seconds: TimeInterval) {
        let whole = Int(seconds)
        self.init(tv_sec: whole, tv_usec: Int((seconds - Double(whole)) * 1_000_000))
    }
}

extension AMQPDelivery {
    init(message: amqp_message_t, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String, generation: Int) {
        let properties = message.properties
        let flags = properties._flags
        self.init(body: message.body.byteArray,
                  messageID: flags & amqp_flags_t(AMQP_BASIC_MESSAGE_ID_FLAG) != 0 ? properties.message_id.string : nil,
                  type: flags & amqp_flags_t(AMQP_BASIC_TYPE_FLAG) != 0 ? properties.type.string : nil,
                  routingKey: routingKey, exchange: exchange, redelivered: redelivered,
                  deliveryTag: deliveryTag, generation: generation)
    }
}
