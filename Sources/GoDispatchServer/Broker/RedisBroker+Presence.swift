import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Presence in Redis (see ``ClusterPresence``): changes are published on the room's channel, mirrors
/// load from the room's hash, and the node that sees another stop sending heartbeats removes its entries.
extension RedisBroker: BrokerPresence {
    public var sharedPresence: (any BrokerPresence)? { self }

    /// The presence store the state core should keep: mirrors of the cluster's presence.
    public var presenceStore: any PresenceStore { presence }

    /// Publishes a change of this node's presence (the mirror already has it).
    func publishPresence(room: String, _ entry: ClusterPresence.Entry) {
        let identity = self.identity
        let value: String
        switch entry {
        case .add(_, let user, let info):
            var fields: [(String, JSONValue)] = [("n", .string(identity)), ("u", .string(user))]
            if let info, let parsed = JSONValue(json: info) { fields.append(("i", parsed)) }
            value = JSONValue.object(fields).jsonText
            _ = commands.send(RedisCommand(["SADD", .string(keys.presenceRooms(of: identity)), .string(room)]))
        case .remove:
            value = ""
        }
        let connection: String
        switch entry {
        case .add(let id, _, _), .remove(let id, _): connection = id
        }
        RedisScripts.presenceChange.run(
            on: commands, keys: [keys.presence(room)],
            arguments: [.string(connection), .string(value), .string(keys.room(room)), .bytes(entry.message(node: identity))]
        ).whenFailure { [logger] error in
            // Redis down: the entry is missing (or stale) in Redis until the connection's next change; this
            // node's own mirror is right, and the others catch up when they reload the room.
            logger.warning("a presence change did not reach Redis", metadata: ["room": "\(room)", "error": "\(error)"])
        }
    }

    /// Reads a room's presence hash into entries.
    func readPresence(room: String) -> EventLoopFuture<[ClusterPresence.Entry]> {
        commands.send(RedisCommand(["HGETALL", .string(keys.presence(room))])).map { reply in
            let items = reply.array ?? []
            var entries: [ClusterPresence.Entry] = []
            for index in stride(from: 0, to: items.count - 1, by: 2) {
                guard let connection = items[index].string, case .bulkString(let value?) = items[index + 1],
                    let entry = ClusterPresence.Entry(connection: connection, hashValue: value.readableBytesView)
                else { continue }
                entries.append(entry)
            }
            return entries
        }
    }

    /// Starts this node's mirror of `room` from Redis (after its subscription is confirmed); a read that
    /// fails is tried again every 200 ms while the room has members here.
    func loadPresence(room: String, generation: Int) -> EventLoopFuture<Void> {
        let promise = commands.eventLoop.makePromise(of: Void.self)
        func attempt() {
            readPresence(room: room).whenComplete { [self] result in
                switch result {
                case .success(let entries):
                    presence.load(room: room, generation: generation, from: entries)
                    promise.succeed()
                case .failure:
                    guard state.withLock({ $0.rooms[room] != nil && !$0.closed }) else { return promise.succeed() }
                    commands.eventLoop.scheduleTask(in: .milliseconds(200)) { attempt() }
                }
            }
        }
        attempt()
        return promise.futureResult
    }

    public func read(room: String, mode: PresenceMode, completion: @escaping @Sendable (Result<RoomPresence, BrokerError>) -> Void) {
        guard isAvailable else { return completion(.failure(.unavailable("Redis is unreachable: the room's presence cannot be read"))) }
        readPresence(room: room).whenComplete { result in
            switch result {
            case .success(let entries):
                var room = RoomPresence(mode: mode)
                for case .add(let connection, let user, let info) in entries {
                    _ = room.add(user: user, connection: connection, info: mode == .full ? info : nil)
                }
                completion(.success(room))
            case .failure(let error):
                completion(.failure(.unavailable("Redis failed to read the room's presence: \(error)")))
            }
        }
    }

    /// Removes every presence entry of `node` (a process that stopped, or this one leaving), telling
    /// every room's members.
    func removeEntries(of node: String) {
        let set = keys.presenceRooms(of: node)
        commands.send(RedisCommand(["SMEMBERS", .string(set)])).whenSuccess { [self] reply in
            let rooms = (reply.array ?? []).compactMap(\.string)
            let removals = rooms.map { room in
                RedisScripts.removeNodePresence.run(
                    on: commands, keys: [keys.presence(room)], arguments: [.string(node), .string(keys.room(room))])
            }
            EventLoopFuture.whenAllComplete(removals, on: commands.eventLoop).whenComplete { _ in
                _ = self.commands.send(RedisCommand(["DEL", .string(set)]))
            }
        }
    }

    /// A presence change on a room's channel.
    func receivedPresence(_ json: some Collection<UInt8>, room: String) {
        guard let (entry, origin) = ClusterPresence.Entry.parse(json), let (node, identity) = state.withLock({ state in state.node.map { ($0, state.identity) } })
        else { return }
        presence.received(entry, from: origin, room: room, node: node, identity: identity)
    }

    /// After an outage: this node's own entries go to Redis again (another node may have taken them for a
    /// dead node's, or a restarted Redis lost them), and every mirror reloads, so members hear who came and
    /// went meanwhile.
    func refreshPresence() {
        guard let node = state.withLock({ $0.node }) else { return }
        for (room, entries) in presence.localEntries {
            for entry in entries { publishPresence(room: room, entry) }
        }
        for room in presence.mirroredRooms {
            presence.beginReload(room)
            readPresence(room: room).whenComplete { [presence, logger] result in
                switch result {
                case .success(let entries): presence.reload(room: room, from: entries, node: node)
                case .failure(let error):
                    logger.warning("a presence mirror could not be reloaded", metadata: ["room": "\(room)", "error": "\(error)"])
                    presence.reload(room: room, from: nil, node: node)
                }
            }
        }
    }
}
