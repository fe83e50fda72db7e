/// A reply from Redis. Bulk strings stay bytes, since Redis is binary safe and so are we.
public enum RedisValue: Sendable, Equatable {
    case bulk([UInt8])
    case status(String)
    case integer(Int)
    case array([RedisValue])
    case null
    case error(String)

    /// The reply as text: bulk strings decoded as UTF-8, status replies as they are.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk, .status: string.flatMap { Int($0) }
        default: nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }
}

/// Anything that can be one argument of a Redis command, sent as raw bytes.
public protocol RedisArgument: Sendable {
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}
extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}
extension Int: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}
extension Double: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}
extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}
