import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Idempotency keys in Redis: the first publish with a key claims it (`SET NX PX`), records its result;
/// a retry on any node within the window gets that result and sends nothing.
extension RedisBroker: BrokerIdempotency {
    public var idempotency: (any BrokerIdempotency)? { self }

    public func claim(
        room: String, key: String, window: Duration, completion: @escaping @Sendable (Result<[UInt8]?, BrokerError>) -> Void
    ) {
        guard isAvailable else { return completion(.failure(.unavailable("Redis is unreachable: the idempotency key cannot be checked"))) }
        RedisScripts.claimIdempotencyKey.run(
            on: commands, keys: [keys.idempotency(room: room, key: key)], arguments: [.integer(Self.milliseconds(window))]
        ).whenComplete { result in
            switch result {
            case .success(let reply):
                let items = reply.array ?? []
                guard items.first?.int == 0 else { return completion(.success(nil)) }
                // Empty: the first publish with this key is still under way.
                let recorded = items.count > 1 ? items[1].string ?? "" : ""
                completion(.success(Array(recorded.utf8)))
            case .failure(let error):
                completion(.failure(.unavailable("Redis failed to check the idempotency key: \(error)")))
            }
        }
    }

    public func record(room: String, key: String, result: [UInt8], window: Duration) {
        let command = RedisCommand([
            "SET", .string(keys.idempotency(room: room, key: key)), .bytes(result), "PX", .integer(Self.milliseconds(window)),
        ])
        commands.send(command).whenFailure { [logger] error in
            logger.warning("could not record an idempotent publish's result", metadata: ["room": "\(room)", "error": "\(error)"])
        }
    }

    public func release(room: String, key: String) {
        _ = commands.send(RedisCommand(["DEL", .string(keys.idempotency(room: room, key: key))]))
    }
}
