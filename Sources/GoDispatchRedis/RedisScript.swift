import NIOCore

/// A Lua script run with `EVALSHA`, loaded on demand.
///
/// The SHA-1 is computed locally, so the usual call is one round trip. When Redis does not know the script
/// (`NOSCRIPT`: after a restart, a failover or `SCRIPT FLUSH`) it is loaded with `SCRIPT LOAD` and run again.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lowercase hex SHA-1 of `source`, the name Redis caches it under.
    public let sha1: String

    /// A script from its Lua source.
    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(source.utf8)
    }

    /// Runs the script with `KEYS` and `ARGV`; the future fails with `RedisError.server` for a Lua error.
    public func run(
        on connection: RedisConnection, keys: [String] = [], arguments: [RESPArgument] = []
    ) -> EventLoopFuture<RESPValue> {
        let evalsha = command(keys: keys, arguments: arguments)
        return connection.send(evalsha).flatMapError { error in
            guard case RedisError.server(let message) = error, message.hasPrefix("NOSCRIPT") else {
                return connection.eventLoop.makeFailedFuture(error)
            }
            return connection.send(RedisCommand(["SCRIPT", "LOAD", source])).flatMap { _ in
                connection.send(evalsha)
            }
        }
    }

    /// `run(on:keys:arguments:)`, awaited.
    public func execute(
        on connection: RedisConnection, keys: [String] = [], arguments: [RESPArgument] = []
    ) async throws -> RESPValue {
        try await run(on: connection, keys: keys, arguments: arguments).get()
    }

    private func command(keys: [String], arguments: [RESPArgument]) -> RedisCommand {
        var parts: [RESPArgument] = ["EVALSHA", .string(sha1), .integer(keys.count)]
        parts.reserveCapacity(3 + keys.count + arguments.count)
        parts.append(contentsOf: keys.map(RESPArgument.string))
        parts.append(contentsOf: arguments)
        return RedisCommand(parts)
    }
}
