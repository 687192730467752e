/// The backend commands as the API runs them: on every node of the cluster. Each applies to this node's
/// connections at once, has the broker carry it to the others, and completes once they answered (at once
/// with the memory broker). Counts are cluster-wide; a failure to reach the other nodes is
/// ``BackendRefusal/brokerUnavailable(_:)``, never a silent partial success.
extension BackendCommands {
    /// Sends `frame` to every member of `room` on every node (see ``publish(_:toRoom:)``).
    public func publish(_ frame: OutboundFrame, toRoom room: String, completion: @escaping @Sendable (Result<RoomDelivery, BackendRefusal>) -> Void) {
        let wait = services.broker.isClustered ? BrokerWait() : nil
        let delivery = services.publish(frame, toRoom: room, wait: wait)
        guard let wait else { return completion(.success(delivery)) }
        wait.whenSettled { failure in
            completion(failure.map { .failure(.brokerUnavailable($0.description)) } ?? .success(delivery))
        }
    }

    /// Sends `frame` to every open connection of `user` on every node; completes with how many.
    public func notify(user: String, _ frame: OutboundFrame, completion: @escaping @Sendable (Result<Int, BackendRefusal>) -> Void) {
        let here = notify(user: user, frame)
        everywhere(.notifyUser(user: user, frame: frame.bytes), here: ControlTally(found: here > 0, count: here)) { result in
            completion(result.map(\.count))
        }
    }

    /// Adds the user's connections (or one of them) to `room` on every node; completes with how many
    /// joined. A user connected nowhere is ``BackendRefusal/notFound(_:)``.
    public func join(
        user: String, room: String, connection: String? = nil, completion: @escaping @Sendable (Result<Int, BackendRefusal>) -> Void
    ) {
        let services = self.services
        let joined: @Sendable (Result<Int, BackendRefusal>) -> Void = { result in
            // Frames published to the room must reach the members joined here once this answers.
            guard case .success = result, services.broker.isClustered else { return completion(result) }
            let subscribed = BrokerWait()
            services.broker.awaitRoom(room, wait: subscribed)
            subscribed.whenSettled { failure in completion(failure.map { .failure(.brokerUnavailable($0.description)) } ?? result) }
        }
        membership(.join(user: user, room: room, connection: connection), user: user, connection: connection, completion: joined) {
            () throws(BackendRefusal) -> Int in try join(user: user, room: room, connection: connection)
        }
    }

    /// Removes the user's connections (or one of them) from `room` on every node; completes with how many left.
    public func leave(
        user: String, room: String, connection: String? = nil, completion: @escaping @Sendable (Result<Int, BackendRefusal>) -> Void
    ) {
        membership(.leave(user: user, room: room, connection: connection), user: user, connection: connection, completion: completion) {
            () throws(BackendRefusal) -> Int in try leave(user: user, room: room, connection: connection)
        }
    }

    /// Closes the user's connections (or one of them) on every node; completes with how many closed.
    public func disconnect(
        user: String, connection: String? = nil, code: UInt16, reason: String,
        completion: @escaping @Sendable (Result<Int, BackendRefusal>) -> Void
    ) {
        let here: Int
        do {
            here = try disconnect(user: user, connection: connection, code: code, reason: reason)
        } catch {
            // Not here: the connection may be on another node (a malformed request is refused at once).
            guard case .notFound = error, services.broker.isClustered else { return completion(.failure(error)) }
            here = 0
        }
        let command: ControlCommand =
            connection.map { .disconnectConnection(connection: $0, code: code, reason: reason, user: user) }
            ?? .disconnectUser(user: user, code: code, reason: reason)
        everywhere(command, here: ControlTally(found: here > 0, count: here)) { result in
            switch result {
            case .success(let tally) where connection != nil && !tally.found:
                completion(.failure(.notFound("user `\(user)` has no connection `\(connection!)` on any node")))
            case .success(let tally): completion(.success(tally.count))
            case .failure(let refusal): completion(.failure(refusal))
            }
        }
    }

    /// Changes the user's live permissions on every node that holds it; a user connected nowhere is
    /// ``BackendRefusal/notFound(_:)``.
    public func setPermissions(
        user: String, _ update: PermissionUpdate, completion: @escaping @Sendable (Result<Void, BackendRefusal>) -> Void
    ) {
        let found = (try? setPermissions(user: user, update)) != nil
        everywhere(.setPermissions(user: user, update), here: ControlTally(found: found, count: found ? 1 : 0)) { result in
            switch result {
            case .success(let tally) where !tally.found: completion(.failure(.notFound("user `\(user)` is not connected")))
            case .success: completion(.success(()))
            case .failure(let refusal): completion(.failure(refusal))
            }
        }
    }

    /// A join or leave: here first (a refusal other than "not here" ends it), then on the other nodes.
    private func membership(
        _ command: ControlCommand, user: String, connection: String?,
        completion: @escaping @Sendable (Result<Int, BackendRefusal>) -> Void, here body: () throws(BackendRefusal) -> Int
    ) {
        var here = ControlTally.none
        do {
            here = ControlTally(found: true, count: try body())
        } catch {
            guard case .notFound = error, services.broker.isClustered else { return completion(.failure(error)) }
        }
        everywhere(command, here: here) { result in
            switch result {
            case .success(let tally) where !tally.found:
                let what = connection.map { "user `\(user)` has no connection `\($0)` on any node" } ?? "user `\(user)` is not connected"
                completion(.failure(.notFound(what)))
            case .success(let tally): completion(.success(tally.count))
            case .failure(let refusal): completion(.failure(refusal))
            }
        }
    }

    /// Has the other nodes run `command`; completes with `here` plus what they did.
    private func everywhere(
        _ command: ControlCommand, here: ControlTally, completion: @escaping @Sendable (Result<ControlTally, BackendRefusal>) -> Void
    ) {
        guard services.broker.isClustered else { return completion(.success(here)) }
        services.broker.send(command) { result in
            switch result {
            case .success(let there): completion(.success(here + there))
            case .failure(let error): completion(.failure(.brokerUnavailable("\(error.description) (done on this node: \(here.count))")))
            }
        }
    }
}

/// History as the API reads it: from the cluster's shared streams when there are some, else this node's.
extension BackendCommands {
    /// See ``history(room:limit:since:reverse:)``; in a cluster the page is read from the shared history.
    public func history(
        room: String, limit: Int?, since: StreamPosition?, reverse: Bool,
        completion: @escaping @Sendable (Result<HistoryPage, BackendRefusal>) -> Void
    ) {
        guard let shared = services.broker.history else {
            return completion(Result { () throws(BackendRefusal) in try history(room: room, limit: limit, since: since, reverse: reverse) })
        }
        do throws(BackendRefusal) {
            try checkRoomName(room)
        } catch {
            return completion(.failure(error))
        }
        guard let rule = services.here.historyRule(ofRoom: room) else {
            return completion(.failure(.notAvailable("room `\(room)` keeps no history: no `rooms:` rule with `history:` matches it")))
        }
        shared.read(room: room, rule: rule, since: since?.offset, limit: limit, reverse: reverse) { read in
            switch read {
            case .success(let read):
                if let since, since.epoch != read.position.epoch || since.offset > read.position.offset {
                    return completion(
                        .failure(
                            .unrecoverablePosition(
                                "`since` {offset: \(since.offset), epoch: \(since.epoch)} is not a position of this stream "
                                    + "(now offset \(read.position.offset), epoch \(read.position.epoch))")))
                }
                completion(.success(HistoryPage(position: read.position, publications: read.publications)))
            case .failure(let error):
                completion(.failure(.brokerUnavailable(error.description)))
            }
        }
    }

    /// See ``removeHistory(room:)``; in a cluster the shared history is emptied.
    public func removeHistory(room: String, completion: @escaping @Sendable (Result<Void, BackendRefusal>) -> Void) {
        guard let shared = services.broker.history else {
            return completion(Result { () throws(BackendRefusal) in try removeHistory(room: room) })
        }
        do throws(BackendRefusal) {
            try checkRoomName(room)
        } catch {
            return completion(.failure(error))
        }
        guard services.here.historyRule(ofRoom: room) != nil else {
            return completion(.failure(.notAvailable("room `\(room)` keeps no history: no `rooms:` rule with `history:` matches it")))
        }
        shared.remove(room: room) { result in completion(result.mapError { .brokerUnavailable($0.description) }) }
    }
}

/// Presence as the API reads it: the whole cluster's when nodes share it, else this node's.
extension BackendCommands {
    /// See ``presence(room:)``; in a cluster read from every node's entries.
    public func presence(
        room: String, completion: @escaping @Sendable (Result<[(connection: String, user: String, info: [UInt8]?)], BackendRefusal>) -> Void
    ) {
        guard let shared = services.broker.sharedPresence else {
            return completion(Result { () throws(BackendRefusal) in try presence(room: room) })
        }
        do throws(BackendRefusal) {
            // The same refusals as on one node (a name too long, a room that is not `presence: full`).
            _ = try presenceMode(room: room, needsFull: true)
        } catch {
            return completion(.failure(error))
        }
        shared.read(room: room, mode: .full) { result in
            completion(
                result.map { presence in
                    presence.users.sorted { $0.key < $1.key }.flatMap { user, member in
                        member.connections.map { (connection: $0.id, user: user, info: $0.info) }
                    }
                }.mapError { .brokerUnavailable($0.description) })
        }
    }

    /// See ``presenceStats(room:)``; in a cluster counted over every node.
    public func presenceStats(room: String, completion: @escaping @Sendable (Result<(connections: Int, users: Int), BackendRefusal>) -> Void) {
        guard let shared = services.broker.sharedPresence else {
            return completion(Result { () throws(BackendRefusal) in try presenceStats(room: room) })
        }
        let mode: PresenceMode
        do throws(BackendRefusal) {
            mode = try presenceMode(room: room, needsFull: false)
        } catch {
            return completion(.failure(error))
        }
        shared.read(room: room, mode: mode) { result in
            completion(result.map { ($0.connectionCount, $0.users.count) }.mapError { .brokerUnavailable($0.description) })
        }
    }

    /// The presence the room keeps, refused as on one node when it keeps none (or not `full`, if needed).
    func presenceMode(room: String, needsFull: Bool) throws(BackendRefusal) -> PresenceMode {
        try checkRoomName(room)
        let mode = services.presenceMode(ofRoom: room)
        switch mode {
        case .full: return mode
        case .stats where !needsFull: return mode
        case .stats:
            throw .notAvailable("room `\(room)` keeps `presence: stats` (counts only): ask `presence_stats`, or give its `rooms:` rule `presence: full`")
        case .off:
            throw .notAvailable(
                needsFull
                    ? "room `\(room)` keeps no presence: give its `rooms:` rule `presence: full`"
                    : "room `\(room)` keeps no presence: give its `rooms:` rule `presence: stats` or `full`")
        }
    }
}
