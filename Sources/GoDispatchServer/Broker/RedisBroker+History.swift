import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// History shared by every node: each room with history is a Redis stream plus a hash holding its epoch
/// and newest offset. A publish appends and publishes in one script; a reader on any node sees the same
/// offsets and epoch, so a client recovers on whichever node it reconnects to.
extension RedisBroker: BrokerHistory {
    public var history: (any BrokerHistory)? { self }

    /// Publishes to a room with history: numbered in Redis, then delivered by every node from the
    /// message `PUBLISH` sends back.
    func publishNumbered(
        _ frame: OutboundFrame, toRoom room: String, rule: RoomRule, excluding: Connection?, here: LocalNode, wait: BrokerWait?
    ) -> RoomDelivery {
        let recipients = here.memberCount(ofRoom: room, excluding: excluding)
        guard let history = rule.history else { return RoomDelivery(recipients: recipients, position: nil) }
        let echo = echo(for: wait, room: room, recipients: recipients)
        wait?.begin()
        RedisScripts.publishHistory.run(
            on: commands, keys: [keys.history(room), keys.historyMeta(room)],
            arguments: [
                .string(keys.room(room)), .string(excluding?.id ?? "-"), .bytes(frame.bytes), .integer(max(1, history.size)),
                .integer(Self.milliseconds(history.ttl)), .string(StreamPosition.makeEpoch()), .string(echo.token),
            ]
        ).whenComplete { result in
            switch result {
            case .success(let reply):
                let items = reply.array ?? []
                if items.count == 2, let offset = items[0].int, let epoch = items[1].string {
                    wait?.position = StreamPosition(offset: UInt64(offset), epoch: epoch)
                }
                wait?.end()
            case .failure(let error):
                self.forgetEcho(echo.number)
                let delivered = here.publish(frame, toRoom: room, excluding: excluding?.id).recipients
                self.logger.warning("room publish with history failed", metadata: ["room": "\(room)", "error": "\(error)"])
                wait?.end(
                    .unavailable(
                        "Redis failed while publishing (\(error)): delivered unnumbered to \(delivered) connection(s) on this "
                            + "node; not kept in history, and other nodes may not have it"))
            }
        }
        return RoomDelivery(recipients: recipients, position: nil)
    }

    public func read(
        room: String, rule: RoomRule, since: UInt64?, limit: Int?, reverse: Bool,
        completion: @escaping @Sendable (Result<HistoryRead, BrokerError>) -> Void
    ) {
        guard isAvailable else {
            let failure = BrokerError.unavailable("Redis is unreachable: the room's history cannot be read")
            return subscriber.eventLoop.execute { completion(.failure(failure)) }
        }
        let ttl = Self.milliseconds(rule.history?.ttl ?? .seconds(300))
        RedisScripts.readHistory.run(
            on: commands, keys: [keys.history(room), keys.historyMeta(room)],
            arguments: [
                .string(StreamPosition.makeEpoch()), .integer(ttl), .integer(since.map { Int($0) } ?? -1), .integer(limit ?? 0),
                .integer(reverse ? 1 : 0),
            ]
        )
        // Answered on the subscriber's event loop, the thread that delivers the room's live frames: what a
        // reader sends members (`_joined`, caught-up frames) is then ordered with them as it was decided,
        // never overtaken by a live frame written at once on a connection of that loop.
        .hop(to: subscriber.eventLoop)
        .whenComplete { result in
            switch result {
            case .success(let reply):
                let items = reply.array ?? []
                guard items.count >= 2, let epoch = items[0].string, let top = items[1].int else {
                    return completion(.failure(.unavailable("Redis answered a history read with \(reply)")))
                }
                var publications: [StoredPublication] = []
                publications.reserveCapacity((items.count - 2) / 2)
                for index in stride(from: 2, to: items.count - 1, by: 2) {
                    guard let offset = items[index].int, case .bulkString(let bytes?) = items[index + 1] else { continue }
                    publications.append(
                        StoredPublication(offset: UInt64(offset), frame: OutboundFrame(bytes: Array(bytes.readableBytesView))))
                }
                completion(.success(HistoryRead(position: StreamPosition(offset: UInt64(top), epoch: epoch), publications: publications)))
            case .failure(let error):
                completion(.failure(.unavailable("Redis failed to read the room's history: \(error)")))
            }
        }
    }

    public func noteJoined(room: String, at position: StreamPosition) {
        state.withLock { state in
            if let seen = state.lastSeen[room], seen.epoch == position.epoch, seen.offset >= position.offset { return }
            state.lastSeen[room] = position
        }
    }

    public func remove(room: String, completion: @escaping @Sendable (Result<Void, BrokerError>) -> Void) {
        guard isAvailable else { return completion(.failure(.unavailable("Redis is unreachable: the room's history cannot be removed"))) }
        commands.send(RedisCommand(["DEL", .string(keys.history(room))])).whenComplete { result in
            switch result {
            case .success: completion(.success(()))
            case .failure(let error): completion(.failure(.unavailable("Redis failed to remove the room's history: \(error)")))
            }
        }
    }

    /// A duration in whole milliseconds (at least 1).
    static func milliseconds(_ duration: Duration) -> Int {
        max(1, Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000))
    }
}
