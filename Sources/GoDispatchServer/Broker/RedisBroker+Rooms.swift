import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Rooms: one `PUBLISH` per publish; every node delivers what comes back from Redis, in Redis' order.
extension RedisBroker {
    public func publish(_ frame: OutboundFrame, toRoom room: String, excluding: Connection?, here: LocalNode, wait: BrokerWait?)
        -> RoomDelivery
    {
        guard isAvailable else {
            let delivery = here.publish(frame, toRoom: room, excluding: excluding?.id)
            wait?.fail(
                .unavailable(
                    "Redis is unreachable: delivered to \(delivery.recipients) connection(s) on this node; "
                        + "other nodes were not reached"))
            return delivery
        }
        if let rule = here.historyRule(ofRoom: room) {
            return publishNumbered(frame, toRoom: room, rule: rule, excluding: excluding, here: here, wait: wait)
        }
        let recipients = here.memberCount(ofRoom: room, excluding: excluding)
        // `<excluded connection id or -> <offset or -> <echo or ->\n<frame>`.
        var payload = ByteBuffer()
        payload.reserveCapacity(frame.bytes.count + 64)
        payload.writeString(excluding?.id ?? "-")
        payload.writeString(" - ")
        let echo = echo(for: wait, room: room, recipients: recipients)
        payload.writeString(echo.token)
        payload.writeInteger(UInt8(ascii: "\n"))
        payload.writeBytes(frame.bytes)
        wait?.begin()
        commands.send(RedisCommand(["PUBLISH", .string(keys.room(room)), .buffer(payload)])).whenComplete { result in
            switch result {
            case .success:
                wait?.end()
            case .failure(let error):
                // Nobody, this node included, will get it back from Redis: deliver here now.
                self.forgetEcho(echo.number)
                let delivered = here.publish(frame, toRoom: room, excluding: excluding?.id).recipients
                self.logger.warning("room publish failed", metadata: ["room": "\(room)", "error": "\(error)"])
                wait?.end(
                    .unavailable(
                        "Redis connection lost while publishing (\(error)): delivered to \(delivered) connection(s) on this "
                            + "node; other nodes may not have it"))
            }
        }
        return RoomDelivery(recipients: recipients, position: nil)
    }

    /// The echo token of a publish: `<node>#<n>` when the step must also wait for the frame to come back to
    /// this node's `recipients` members (so they get it before anything the pipeline sends next), else `-`
    /// (no members here, or the room's subscription is not confirmed yet, so it may not come back).
    func echo(for wait: BrokerWait?, room: String, recipients: Int) -> (token: String, number: UInt64?) {
        guard let wait, recipients > 0 else { return ("-", nil) }
        let token = state.withLock { state -> (UInt64, String)? in
            guard state.subscriberUp, state.rooms[room]?.isConfirmed == true else { return nil }
            let number = state.nextEcho
            state.nextEcho += 1
            state.echoes[number] = (room, wait)
            return (number, state.identity)
        }
        guard let (number, name) = token else { return ("-", nil) }
        wait.begin()
        return ("\(name)#\(number)", number)
    }

    /// A publish that failed will not come back: its echo wait ends.
    func forgetEcho(_ number: UInt64?) {
        guard let number else { return }
        state.withLock { $0.echoes.removeValue(forKey: number) }?.wait.end()
    }

    /// A publish of this node came back: its step may go on.
    private func echoed(_ token: some Collection<UInt8>) {
        let text = String(decoding: token, as: UTF8.self)
        guard let hash = text.lastIndex(of: "#"), text[..<hash] == identity, let number = UInt64(text[text.index(after: hash)...]) else {
            return
        }
        state.withLock { $0.echoes.removeValue(forKey: number) }?.wait.end()
    }

    public func awaitRoom(_ room: String, wait: BrokerWait) {
        guard let subscription = state.withLock({ $0.rooms[room] }) else { return }
        guard isAvailable else {
            wait.fail(
                .unavailable(
                    "joined on this node only: Redis is unreachable, so frames other nodes publish to `\(room)` "
                        + "reach it once Redis is back"))
            return
        }
        guard !subscription.isConfirmed else { return }
        wait.begin()
        subscription.confirmation.whenComplete { result in
            switch result {
            case .success: wait.end()
            case .failure(let error): wait.end(.unavailable("the subscription to room `\(room)` failed: \(error)"))
            }
        }
    }

    public func roomOpened(_ room: String) {
        var confirmation = subscriber.subscribe(.channel(keys.room(room)))
        // A room with presence is ready once this node's mirror of it is loaded too.
        if let node = state.withLock({ $0.node }), let mode = node.services.roomRules.rules.rule(for: room)?.presence, mode != .off {
            let generation = presence.opened(room, mode: mode)
            confirmation = confirmation.flatMap { [self] in loadPresence(room: room, generation: generation) }
        }
        state.withLock { $0.rooms[room] = RoomSubscription(confirmation) }
    }

    public func roomClosed(_ room: String) {
        // Publishes still waiting to come back to this room's members here: there are none left to get them.
        let unwaited = state.withLock { state -> [BrokerWait] in
            state.rooms.removeValue(forKey: room)
            state.lastSeen.removeValue(forKey: room)
            let numbers = state.echoes.filter { $0.value.room == room }.map(\.key)
            return numbers.compactMap { state.echoes.removeValue(forKey: $0)?.wait }
        }
        for wait in unwaited { wait.end() }
        presence.closed(room)
        _ = subscriber.unsubscribe(.channel(keys.room(room)))
    }

    /// After an outage of the pub/sub connection: every room with history this node has members in
    /// catches up from Redis — the frames published meanwhile go to its members in order (live frames held
    /// back until then). Where that is impossible (a new epoch after Redis lost its data, more frames
    /// missed than `recovery_max`, or none kept), members get `_recover` with `recovered: false` and the
    /// room's position, and should refetch.
    func catchUp() {
        guard let node = state.withLock({ $0.node }) else { return }
        let seen = state.withLock { state -> [String: StreamPosition] in
            defer { state.catchUpFrom = nil }
            return (state.catchUpFrom ?? state.lastSeen).filter { state.rooms[$0.key] != nil }
        }
        for (room, last) in seen {
            guard let rule = node.historyRule(ofRoom: room) else { continue }
            // One catch-up per room at a time: an outage during one makes it read once more.
            let started = state.withLock { state -> Bool in
                guard !state.catchingUp.contains(room) else {
                    state.catchUpAgain.insert(room)
                    return false
                }
                state.catchingUp.insert(room)
                return true
            }
            node.services.recovering.beginRoom(room)  // (held since the pub/sub connection came back)
            if started { catchUp(room: room, rule: rule, after: last, node: node) }
        }
    }

    /// Reads what `room` missed after `last` and hands it to its members here, then the held frames that
    /// follow; reads again while a gap remains (another outage), until the room is live again.
    private func catchUp(room: String, rule: RoomRule, after last: StreamPosition, node: LocalNode) {
        let services = node.services
        let members: @Sendable () -> [Connection] = { services.state.members(ofRoom: room) }
        read(room: room, rule: rule, since: last.offset, limit: max(0, rule.recoveryMax) + 1, reverse: false) { [self] result in
            let again = state.withLock { $0.catchUpAgain.remove(room) != nil }
            let missed: ArraySlice<StoredPublication>?
            switch result {
            case .success(let read) where read.position == last:
                missed = []  // nothing was published meanwhile
            case .success(let read):
                missed = rule.recovery ? rule.recoverable(since: last, position: read.position, after: read.publications[...]) : nil
            case .failure:
                missed = nil
            }
            let position = try? result.get().position
            guard let missed, let position else {
                logger.warning(
                    "a room could not catch up after the broker outage: its members are told to recover",
                    metadata: ["room": "\(room)", "from": "\(last.offset)"])
                services.recovering.abandonRoom(
                    room, notice: Self.recoverFrame(room: room, position: position), top: position?.offset ?? 0, members: members,
                    fanOut: services.fanOut)
                state.withLock { _ = $0.catchingUp.remove(room) }
                return
            }
            if !missed.isEmpty {
                logger.notice(
                    "room caught up after the broker outage",
                    metadata: ["room": "\(room)", "from": "\(last.offset)", "to": "\(position.offset)", "recovered": "\(missed.count)"])
            }
            let more = services.recovering.continueRoom(
                room, catchUp: missed.map(\.frame), top: position.offset, again: again, members: members, fanOut: services.fanOut)
            guard let more else {
                state.withLock { _ = $0.catchingUp.remove(room) }
                return
            }
            catchUp(room: room, rule: rule, after: StreamPosition(offset: more, epoch: position.epoch), node: node)
        }
    }

    /// The pub/sub connection is back after an outage but the catch-up waits for the command connection:
    /// live frames of the rooms to catch up are held from now on, so none goes out before what was missed.
    func holdRoomsToCatchUp() {
        let (rooms, node) = state.withLock { state -> ([String], LocalNode?) in
            guard state.missedFrames, let from = state.catchUpFrom else { return ([], nil) }
            return (from.keys.filter { state.rooms[$0] != nil }, state.node)
        }
        guard let node else { return }
        for room in rooms where node.historyRule(ofRoom: room) != nil { node.services.recovering.beginRoom(room) }
    }

    /// `{"event":"_recover","target":room,"payload":{"recovered":false,"offset","epoch"}}`: frames of the
    /// room were missed and cannot be given back; the position (when known) is where live frames go on.
    static func recoverFrame(room: String, position: StreamPosition?) -> OutboundFrame {
        var fields: [(String, JSONValue)] = [("recovered", .bool(false))]
        if let position { fields += [("offset", .number(String(position.offset))), ("epoch", .string(position.epoch))] }
        return OutboundFrame(
            bytes: Array(JSONValue.object([("event", .string("_recover")), ("target", .string(room)), ("payload", .object(fields))]).jsonText.utf8))
    }

    /// A frame on a room channel: deliver it to the room's members here.
    func receivedRoomFrame(_ payload: ByteBuffer, on channel: String) {
        let room = String(channel.dropFirst(keys.roomChannelPrefix.count).dropLast())
        guard let node = state.withLock({ $0.node }) else { return }
        let view = payload.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            logger.warning("malformed room message ignored", metadata: ["channel": "\(channel)"])
            return
        }
        if view[view.startIndex] == UInt8(ascii: "!") {
            return receivedPresence(view[(newline + 1)...], room: room)
        }
        let header = view[view.startIndex..<newline].split(separator: UInt8(ascii: " "))
        guard header.count == 3 || header.count == 4 else {
            logger.warning("malformed room message ignored", metadata: ["channel": "\(channel)"])
            return
        }
        let excluded = header[0].elementsEqual("-".utf8) ? nil : String(decoding: header[0], as: UTF8.self)
        let frame = OutboundFrame(bytes: Array(view[(newline + 1)...]))
        if let offset = UInt64(String(decoding: header[1], as: UTF8.self)) {
            _ = node.deliver(numbered: frame, offset: offset, toRoom: room, excluding: excluded)
            if header.count == 4 {
                let position = StreamPosition(offset: offset, epoch: String(decoding: header[3], as: UTF8.self))
                state.withLock { $0.lastSeen[room] = position }
            }
        } else {
            _ = node.publish(frame, toRoom: room, excluding: excluded)
        }
        if !header[2].elementsEqual("-".utf8) { echoed(header[2]) }
    }
}
