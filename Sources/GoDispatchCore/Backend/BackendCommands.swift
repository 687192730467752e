/// What a backend may ask of the engine through the API: send to rooms and users, change memberships
/// and permissions, close connections, and look at the state. Frames sent here carry no `from`: only a
/// verified user can be `from`, so clients can tell a backend's message from a peer's.
///
/// Safe to call from any thread; sends fan out like a client publish (one frame, grouped per loop).
public struct BackendCommands: Sendable {
    /// The services commands act through.
    public let services: EngineServices

    /// Commands acting through `services`.
    public init(services: EngineServices) { self.services = services }

    /// Builds the frame `{"event","target","payload"}` without `from`. `payloadJSON` must be one JSON value.
    public static func frame(event: String, target: String?, payloadJSON: UnsafeRawBufferPointer?) -> OutboundFrame {
        var event = event
        var target = target
        return event.withUTF8 { eventBytes in
            if target == nil {
                return FrameEncoder.message(event: UnsafeRawBufferPointer(eventBytes), target: nil, payloadJSON: payloadJSON, from: nil)
            }
            return target!.withUTF8 { targetBytes in
                FrameEncoder.message(
                    event: UnsafeRawBufferPointer(eventBytes), target: UnsafeRawBufferPointer(targetBytes), payloadJSON: payloadJSON,
                    from: nil)
            }
        }
    }

    /// Sends `frame` to every member of `room`; in a room with history the frame is numbered and kept
    /// (its position is in the answer).
    @discardableResult
    public func publish(_ frame: OutboundFrame, toRoom room: String) -> RoomDelivery {
        services.publish(frame, toRoom: room)
    }

    /// A room's position and held frames.
    public struct HistoryPage: Sendable {
        /// The newest frame's position.
        public var position: StreamPosition
        /// The frames asked for, in the order asked for.
        public var publications: [StoredPublication]
    }

    /// The history of `room`: `limit` frames (nil or 0: none, only the position; negative: all held),
    /// oldest first from the start of what is held, or after `since`; with `reverse`, newest first
    /// from the top, or before `since`. Refuses a room without history (`notAvailable`) and a `since`
    /// of another epoch or ahead of the stream (`unrecoverablePosition`).
    public func history(room: String, limit: Int?, since: StreamPosition?, reverse: Bool) throws(BackendRefusal) -> HistoryPage {
        try checkRoomName(room)
        while let stream = services.streams.stream(for: room) {
            let page = try stream.withHistory(now: services.clock()) { history throws(BackendRefusal) -> HistoryPage in
                let position = history.position
                if let since, since.epoch != position.epoch || since.offset > position.offset {
                    throw .unrecoverablePosition(
                        "`since` {offset: \(since.offset), epoch: \(since.epoch)} is not a position of this stream "
                            + "(now offset \(position.offset), epoch \(position.epoch))")
                }
                let limit = limit ?? 0
                guard limit != 0 else { return HistoryPage(position: position, publications: []) }
                var held = history.held
                if let since {
                    held = reverse ? held.prefix { $0.offset < since.offset } : held.drop { $0.offset <= since.offset }
                }
                let take = limit < 0 ? held.count : limit
                let page = reverse ? Array(held.suffix(take).reversed()) : Array(held.prefix(take))
                return HistoryPage(position: position, publications: page)
            }
            if let page { return page }
        }
        throw .notAvailable("room `\(room)` keeps no history: no `rooms:` rule with `history:` matches it")
    }

    /// Forgets every frame `room` holds. The offset and epoch stay: the next frame continues the
    /// numbering, so a client's `since` stays meaningful (and is not recoverable: the frames are gone).
    public func removeHistory(room: String) throws(BackendRefusal) {
        try checkRoomName(room)
        while let stream = services.streams.stream(for: room) {
            if stream.removeAll() { return }
        }
        throw .notAvailable("room `\(room)` keeps no history: no `rooms:` rule with `history:` matches it")
    }

    /// Sends `frame` to every open connection of `user`; returns how many.
    @discardableResult
    public func notify(user: String, _ frame: OutboundFrame) -> Int {
        let connections = (services.state.user(id: user)?.connections ?? []).filter { !$0.isClosed }
        services.fanOut.deliver(frame, to: connections)
        return connections.count
    }

    /// The user's open connections, or the one named `connection` (which must belong to the user).
    private func connections(of user: String, connection: String?) throws(BackendRefusal) -> [Connection] {
        if let connection {
            guard let found = services.state.connection(id: connection), !found.isClosed, found.user.id == user else {
                throw .notFound("user `\(user)` has no connection `\(connection)` on this node")
            }
            return [found]
        }
        guard let found = services.state.user(id: user) else { throw .notFound("user `\(user)` is not connected") }
        return found.connections.filter { !$0.isClosed }
    }

    /// Checks a room name against the engine's limits.
    func checkRoomName(_ room: String) throws(BackendRefusal) {
        let limit = services.limits.maxRoomNameBytes
        guard !room.isEmpty, room.utf8.count <= limit else {
            throw .badRequest("`room` must be 1 to \(limit) bytes, found \(room.utf8.count)")
        }
    }

    /// Adds the user's connections (or one of them) to `room`, within `connections.max_rooms_per_connection`.
    /// Returns how many connections joined now (already-members are not counted).
    public func join(user: String, room: String, connection: String? = nil) throws(BackendRefusal) -> Int {
        try checkRoomName(room)
        let targets = try connections(of: user, connection: connection)
        let limit = services.limits.maxRoomsPerConnection
        var joined = 0
        var refused = 0
        var full = 0
        for target in targets {
            if !target.mayJoin(room, limit: limit) {
                refused += 1
                continue
            }
            let result = withMembershipLock(room) {
                services.state.join(target, room: room, options: services.joinOptions(for: room, connection: target))
            }
            switch result {
            case .joined: joined += 1
            case .full: full += 1
            case .alreadyMember, .closed: break
            }
        }
        if full > 0, joined == 0 {
            throw .roomFull("room `\(room)` is full (its rule's max_members)")
        }
        if refused > 0, joined == 0, refused == targets.count {
            throw .limitExceeded("every connection of `\(user)` is in \(limit) rooms already (connections.max_rooms_per_connection)")
        }
        return joined
    }

    /// Removes the user's connections (or one of them) from `room`; returns how many left it.
    public func leave(user: String, room: String, connection: String? = nil) throws(BackendRefusal) -> Int {
        try checkRoomName(room)
        var left = 0
        for target in try connections(of: user, connection: connection)
        where withMembershipLock(room, { services.state.leave(target, room: room) }) {
            left += 1
        }
        return left
    }

    /// The room's presence, one entry per connection with its `presence_info` (JSON, nil = none), for the
    /// API's `presence`. Only rooms whose rule keeps `presence: full` list who is there: any other room is
    /// refused with ``BackendRefusal/notAvailable(_:)`` (as Centrifugo answers for channels without
    /// presence), so the answer never depends on which node was asked.
    public func presence(room: String) throws(BackendRefusal) -> [(connection: String, user: String, info: [UInt8]?)] {
        _ = try presenceMode(room: room, needsFull: true)
        guard let presence = services.state.presence(ofRoom: room) else { return [] }
        return presence.users.sorted { $0.key < $1.key }.flatMap { user, member in
            member.connections.map { (connection: $0.id, user: user, info: $0.info) }
        }
    }

    /// Connections and distinct users in the room's presence (for the API's `presence_stats`); refused
    /// with ``BackendRefusal/notAvailable(_:)`` for a room whose rule keeps no presence.
    public func presenceStats(room: String) throws(BackendRefusal) -> (connections: Int, users: Int) {
        _ = try presenceMode(room: room, needsFull: false)
        guard let counts = services.presenceCounts(room: room) else { return (0, 0) }
        return (counts.connections, counts.users)
    }

    /// Runs a membership change of `room` under its stream's lock when it keeps history (see
    /// ``RoomStream``), else as it is.
    private func withMembershipLock<Result>(_ room: String, _ change: () -> Result) -> Result {
        while let stream = services.streams.stream(for: room) {
            if let changed = stream.withMembershipLock(change) { return changed }
        }
        return change()
    }

    /// Closes the user's connections (or one of them) with `code` (1000, 1008 or 4000–4999); returns how many.
    public func disconnect(user: String, connection: String? = nil, code: UInt16, reason: String) throws(BackendRefusal) -> Int {
        guard code == 1000 || code == 1008 || (4000...4999).contains(code) else {
            throw .badRequest("close code \(code) is not allowed; use 1000, 1008 or 4000-4999")
        }
        guard reason.utf8.count <= 123 else {
            throw .badRequest("`reason` is \(reason.utf8.count) bytes; a close reason is at most 123 bytes")
        }
        let targets: [Connection]
        do {
            targets = try connections(of: user, connection: connection)
        } catch {
            if connection == nil { return 0 }  // not connected: nothing to close
            throw error
        }
        for target in targets { target.transport.close(code: code, reason: reason) }
        return targets.count
    }

    /// How a user's permissions change.
    public enum PermissionUpdate: Sendable, Equatable {
        /// Replace them all.
        case set([String])
        /// Add these.
        case add([String])
        /// Remove these.
        case remove([String])
    }

    /// Changes a connected user's live permissions; they apply to the user's next message.
    public func setPermissions(user: String, _ update: PermissionUpdate) throws(BackendRefusal) {
        guard let found = services.state.user(id: user) else { throw .notFound("user `\(user)` is not connected") }
        switch update {
        case .set(let list): found.permissions.set(list)
        case .add(let list): found.permissions.add(list)
        case .remove(let list): found.permissions.remove(list)
        }
    }

    /// Rooms whose name matches `pattern` (a glob: `*` any run, `?` one character; nil = all), with
    /// their member counts, sorted by name.
    public func rooms(matching pattern: String?) -> [(name: String, members: Int)] {
        let glob = pattern.map(Glob.init)
        return services.state.roomSizes().filter { glob?.matches($0.name) ?? true }.sorted { $0.name < $1.name }
    }
}
