import NIOCore

/// Why a Redis command, reply or connection failed.
public enum RedisError: Error, Sendable, Hashable {
    /// Redis answered with an error reply (`-ERR …`, `-WRONGTYPE …`, `-NOSCRIPT …`); the message is Redis' own.
    case server(String)
    /// The connection is down (Redis unreachable, reconnecting): the command was not sent.
    case notConnected
    /// The connection dropped while the command was in flight: it may or may not have run on Redis.
    case connectionLost
    /// The connection or subscriber was closed by its owner; no more commands are accepted.
    case closed
    /// Redis sent bytes that are not RESP2; the connection is closed and reopened.
    case protocolViolation(String)
    /// A bulk string declared longer than the decoder's `maxBulkLength`.
    case bulkStringTooLong(length: Int, limit: Int)
    /// An array declared more elements than the decoder's `maxArrayLength`.
    case arrayTooLong(count: Int, limit: Int)
    /// Arrays nested deeper than the decoder's `maxNestingDepth`.
    case nestingTooDeep(limit: Int)
    /// A status, error or integer line longer than the decoder's `maxLineLength` without its CRLF.
    case lineTooLong(limit: Int)
    /// A reply of the wrong shape for the command (e.g. AUTH not answered with OK).
    case unexpectedReply(command: String, reply: String)
}

extension RedisError: CustomStringConvertible {
    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .server(let message):
            return "Redis replied with an error: \(message)"
        case .notConnected:
            return "not connected to Redis (it is down or unreachable; reconnecting in the background): retry later"
        case .connectionLost:
            return "the connection to Redis dropped with the command in flight: it may or may not have run; "
                + "retry only if it is idempotent"
        case .closed:
            return "the Redis connection was closed by its owner: open a new one"
        case .protocolViolation(let detail):
            return "Redis sent an invalid RESP2 reply (\(detail)): is the URL pointing at a Redis server?"
        case .bulkStringTooLong(let length, let limit):
            return "a Redis reply holds a \(length)-byte string, over the limit of \(limit): raise maxBulkLength "
                + "or fetch less at once"
        case .arrayTooLong(let count, let limit):
            return "a Redis reply holds an array of \(count) elements, over the limit of \(limit): raise "
                + "maxArrayLength or page the query (COUNT, LIMIT)"
        case .nestingTooDeep(let limit):
            return "a Redis reply nests arrays deeper than \(limit) levels: raise maxNestingDepth"
        case .lineTooLong(let limit):
            return "a Redis status line is longer than \(limit) bytes without CRLF: raise maxLineLength"
        case .unexpectedReply(let command, let reply):
            return
                "Redis answered \(command) with \(reply), which this client does not expect: check the server version"
        }
    }
}
