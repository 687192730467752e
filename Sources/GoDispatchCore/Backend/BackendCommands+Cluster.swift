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
        membership(.join(user: user, room: room, connection: connection), user: user, connection: connection, completion: completion) {
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
            connection.map { .disconnectConnection(connection: $0, code: code, reason: reason) }
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
