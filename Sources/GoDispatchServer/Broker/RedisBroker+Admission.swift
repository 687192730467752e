import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Admission: before a connection is accepted, this node subscribes to its user's channel (so commands
/// about the user reach it from its first message on) and, under `connections.per_user_limit`, takes one
/// of the user's slots in Redis, atomically across nodes.
extension RedisBroker {
    /// What admission decided.
    public enum Admission: Sendable {
        /// Accepted; `release` gives the slot and the user's channel back when the connection closes.
        case admitted(release: ConnectionLease)
        /// The user has `limit` connections in the cluster and the strategy is `reject`.
        case refused
        /// Redis cannot be reached, so the limit cannot be checked.
        case unavailable(String)
    }

    /// Admits connection `id` of `user`: with `limit`, under the per-user limit of the whole cluster
    /// (`cycle` closes the user's oldest connections, wherever they are, with 4001).
    public func admit(user: String, connection id: String, limit: Int?, strategy: ConnectionLimitStrategy) async -> Admission {
        guard isAvailable else { return .unavailable("the cluster broker cannot reach Redis") }
        state.withLock { _ = $0.admitting.insert(id) }
        let admission = await admitHolding(user: user, connection: id, limit: limit, strategy: strategy)
        if case .admitted = admission { return admission }
        forgetAdmission(of: id)
        return admission
    }

    /// Connection `id` is no longer being admitted (refused, or its lease given back).
    private func forgetAdmission(of id: String) {
        state.withLock { state in
            state.admitting.remove(id)
            state.closedEarly.removeValue(forKey: id)
        }
    }

    /// A connection registered here: it is no longer being admitted, and closes at once if a `cycle`
    /// elsewhere already chose it.
    public func connectionOpened(_ connection: Connection) {
        let early = state.withLock { state -> (code: UInt16, reason: String)? in
            state.admitting.remove(connection.id)
            return state.closedEarly.removeValue(forKey: connection.id)
        }
        if let early { connection.transport.close(code: early.code, reason: early.reason) }
    }

    private func admitHolding(user: String, connection id: String, limit: Int?, strategy: ConnectionLimitStrategy) async -> Admission {
        do {
            // Redis lost meanwhile: the subscription waits for its return; the connection waits 5 s at most.
            let promise = commands.eventLoop.makePromise(of: Void.self)
            holdUser(user).cascade(to: promise)
            let deadline = commands.eventLoop.scheduleTask(in: .seconds(5)) { promise.fail(RedisError.notConnected) }
            defer { deadline.cancel() }
            try await promise.futureResult.get()
        } catch {
            releaseUser(user)
            return .unavailable("subscribing to the user's channel failed: \(error)")
        }
        guard let limit else {
            return .admitted(release: ConnectionLease { [self] in
                releaseUser(user)
                forgetAdmission(of: id)
            })
        }
        let member = "\(id)|\(identity)"
        let graceMs = Self.milliseconds(settings.heartbeat * 3)
        let reply: RESPValue
        do {
            reply = try await RedisScripts.admit.run(
                on: commands, keys: [keys.connections(of: user)],
                arguments: [
                    .integer(limit), .string(strategy.rawValue), .string(member), .integer(knowsLiveNodes ? 1 : 0), .integer(graceMs),
                    .string(liveNodeNames.joined(separator: "\n")),
                ]
            ).get()
        } catch {
            releaseUser(user)
            return .unavailable("the per-user limit could not be checked in Redis: \(error)")
        }
        let items = reply.array ?? []
        switch items.first?.int {
        case 1, 2:
            let evicted = items.dropFirst().compactMap(\.string)
            if !evicted.isEmpty { evict(evicted, user: user, limit: limit) }
            return .admitted(release: ConnectionLease { [self] in
                releaseUser(user)
                releaseSlot(user: user, member: member)
                forgetAdmission(of: id)
            })
        default:
            releaseUser(user)
            return .refused
        }
    }

    /// Closes the connections the admission script cycled out, here or on their node.
    private func evict(_ members: [String], user: String, limit: Int) {
        let reason = "replaced by a newer connection (limit \(limit) per user)"
        let (name, node) = state.withLock { ($0.identity, $0.node) }
        for member in members {
            guard let bar = member.firstIndex(of: "|") else { continue }
            let (id, owner) = (String(member[..<bar]), String(member[member.index(after: bar)...]))
            let command = ControlCommand.disconnectConnection(connection: id, code: 4001, reason: reason, user: user)
            if owner == name {
                if let node { _ = apply(command, on: node) }
            } else {
                send(command) { [logger] result in
                    if case .failure(let error) = result {
                        logger.warning("could not close a cycled-out connection", metadata: ["connection": "\(id)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Counts one more holder of `user`'s channel, subscribing on the first; the future succeeds once
    /// Redis confirmed the subscription.
    private func holdUser(_ user: String) -> EventLoopFuture<Void> {
        state.withLock { state in
            if var held = state.users[user] {
                held.holders += 1
                state.users[user] = held
                return held.confirmation
            }
            let confirmation = subscriber.subscribe(.channel(keys.user(user)))
            state.users[user] = UserSubscription(holders: 1, confirmation: confirmation)
            return confirmation
        }
    }

    /// One holder fewer; the last one unsubscribes.
    private func releaseUser(_ user: String) {
        state.withLock { state in
            guard var held = state.users[user] else { return }
            held.holders -= 1
            if held.holders > 0 {
                state.users[user] = held
            } else {
                state.users.removeValue(forKey: user)
                _ = subscriber.unsubscribe(.channel(keys.user(user)))
            }
        }
    }

    /// Gives a connection's slot back (again later, if Redis is down now).
    private func releaseSlot(user: String, member: String) {
        commands.send(RedisCommand(["ZREM", .string(keys.connections(of: user)), .string(member)])).whenFailure { [weak self] _ in
            self?.state.withLock { $0.unreleasedSlots.append((user, member)) }
        }
    }

    /// Releases the slots whose release failed while Redis was down.
    func releaseLeftoverSlots() {
        let slots = state.withLock { state in
            defer { state.unreleasedSlots = [] }
            return state.unreleasedSlots
        }
        for slot in slots { releaseSlot(user: slot.user, member: slot.member) }
    }
}
