import NIOCore

/// One RESP2 value, as Redis sends it (https://redis.io/docs/latest/develop/reference/protocol-spec/).
///
/// Bulk strings are slices of the receive buffer: reading a reply copies no payload bytes.
public enum RESPValue: Sendable, Hashable {
    /// `+OK\r\n`: a short status line.
    case simpleString(String)
    /// `-ERR …\r\n`: an error reply; `RedisConnection` fails the command with `RedisError.server` instead.
    case error(String)
    /// `:42\r\n`: a signed 64-bit integer.
    case integer(Int64)
    /// `$3\r\nfoo\r\n`: binary-safe bytes; nil is the null bulk string `$-1\r\n` (e.g. GET of a missing key).
    case bulkString(ByteBuffer?)
    /// `*2\r\n…`: nested values; nil is the null array `*-1\r\n` (e.g. a timed-out BLPOP).
    case array([RESPValue]?)
}

extension RESPValue {
    /// The value as text: a simple string, or a bulk string decoded as UTF-8; nil for anything else.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(buffer: bytes)
        default: nil
        }
    }

    /// The value as an integer: an integer reply, or a bulk/simple string holding a decimal number.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of a (non-null) array reply.
    public var array: [RESPValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    /// True for the null bulk string and the null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }
}

extension RESPValue: CustomStringConvertible {
    /// A redis-cli-like rendering, for logs and test failures.
    public var description: String {
        switch self {
        case .simpleString(let text): return text
        case .error(let message): return "(error) \(message)"
        case .integer(let value): return "(integer) \(value)"
        case .bulkString(nil), .array(nil): return "(nil)"
        case .bulkString(let bytes?): return "\"\(String(buffer: bytes))\""
        case .array(let elements?): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
