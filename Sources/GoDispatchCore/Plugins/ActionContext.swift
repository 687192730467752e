/// Why a host function refused what an action asked; ``HostTable`` turns it into a `gd_status`.
enum ActionRefusal: Error, Equatable {
    /// Malformed arguments: an empty event, bytes that are not UTF-8, a payload that is not one JSON
    /// value, a close code actions may not use, an unknown operation (GD_ERR_INVALID).
    case invalid(String)
    /// The named connection, user or room membership does not exist, or the connection has closed
    /// (GD_ERR_NOT_FOUND).
    case notFound
    /// A limit forbids it, e.g. the connection is in `connections.max_rooms_per_connection` rooms
    /// already (GD_ERR_FORBIDDEN).
    case forbidden
    /// The room has its rule's `max_members` connections (GD_ERR_ROOM_FULL).
    case roomFull
    /// The host function acts on the origin connection (or its user), and the run has none: a server
    /// event. The text says what to do instead (GD_ERR_NOT_FOUND, logged).
    case noOrigin(String)
}

/// A message an action sends, borrowed from the plugin for the duration of one host call.
struct OutgoingMessage {
    /// How the payload is given.
    enum Payload {
        /// No payload: the frame has none.
        case none
        /// Plain UTF-8 text, sent as a JSON string.
        case text(UnsafeRawBufferPointer)
        /// One JSON value, sent as it is (after validation).
        case json(UnsafeRawBufferPointer)
    }

    /// The event clients see; required.
    var event: UnsafeRawBufferPointer
    /// The target clients see; empty = omitted.
    var target: UnsafeRawBufferPointer
    /// The payload.
    var payload: Payload
    /// For rooms: skip the connection that sent the message.
    var excludeOrigin: Bool = false
}

/// How `set_permissions` changes a user's live permissions.
enum PermissionChange {
    /// Replace them all.
    case set([String])
    /// Add these.
    case add([String])
    /// Remove these.
    case remove([String])
}

/// What `disconnect` closes.
enum DisconnectTarget {
    /// One connection, by id.
    case connection(String)
    /// Every connection of a user, by id.
    case user(String)
}

/// What actions mean: the semantics behind every host function of the ABI, in Swift terms, for one
/// invocation. ``HostTable`` only converts `gd_*` values to these calls and the outcomes back, so these
/// rules are tested without C.
///
/// Used on the run's executor (the origin connection's, or the one a server event was emitted on),
/// during the action's `invoke`.
struct ActionContext {
    /// The connection whose message runs the pipeline; nil for a server event, which has none (its
    /// frames then carry no `from`, and what needs an origin is refused with ``ActionRefusal/noOrigin(_:)``).
    let origin: Connection?
    /// The engine's state, fan-out, limits and logger.
    let services: EngineServices
    /// The `id` of the origin's message (JSON text), nil when it had none: every frame sent back to the
    /// origin carries it as `ref`, so a client can match replies to its requests.
    var ref: ArraySlice<UInt8>? = nil
    /// Collects what the broker finishes later (other nodes' share); nil with the memory broker, where
    /// everything finishes at once. The pipeline parks the step until it settles.
    var wait: BrokerWait? = nil

    /// Close codes an action may use: a normal close, a policy violation, or an application code.
    static func isAllowedCloseCode(_ code: UInt16) -> Bool { code == 1000 || code == 1008 || (4000...4999).contains(code) }

    /// Builds the frame for `message` (once, whatever the number of recipients), checking every part.
    func frame(_ message: OutgoingMessage, target override: UnsafeRawBufferPointer? = nil, ref: ArraySlice<UInt8>? = nil)
        throws(ActionRefusal) -> OutboundFrame
    {
        let target = override ?? message.target
        // Only a verified user can be `from`: a server event's frames have none.
        let from = origin?.user.id
        guard message.event.count > 0 else { throw .invalid("a message needs an event name") }
        guard UTF8Validation.isValid(message.event), UTF8Validation.isValid(target) else {
            throw .invalid("the event or target is not valid UTF-8")
        }
        switch message.payload {
        case .none:
            return FrameEncoder.message(event: message.event, target: target, payloadJSON: nil, from: from, ref: ref)
        case .text(let text):
            guard UTF8Validation.isValid(text) else { throw .invalid("the payload text is not valid UTF-8") }
            var writer = JSONWriter(capacity: text.count + 2)
            writer.writeString(utf8: text)
            return writer.bytes.withUnsafeBytes {
                FrameEncoder.message(event: message.event, target: target, payloadJSON: $0, from: from, ref: ref)
            }
        case .json(let json):
            guard let value = try? JSONReader(json).validate() else {
                throw .invalid("the payload is not exactly one JSON value")
            }
            return FrameEncoder.message(
                event: message.event, target: target, payloadJSON: UnsafeRawBufferPointer(rebasing: json[value]), from: from,
                ref: ref)
        }
    }

    /// Sends to the origin connection; returns 1, or 0 once it has closed.
    func sendToOrigin(_ message: OutgoingMessage) throws(ActionRefusal) -> Int {
        let origin = try required("send_origin")
        let frame = try frame(message, ref: ref)
        guard !origin.isClosed else { return 0 }
        origin.transport.send(frame)
        return 1
    }

    /// Sends to one open connection by id (on another node, through the broker: the step then fails with
    /// GD_ERR_NOT_FOUND if no node has it).
    func sendToConnection(id: String, _ message: OutgoingMessage) throws(ActionRefusal) -> Int {
        let frame = try frame(message)
        guard let connection = services.state.connection(id: id), !connection.isClosed else {
            guard wait != nil else { throw .notFound }
            everywhere(.sendConnection(connection: id, frame: frame.bytes), foundHere: false, requiresTarget: true)
            return 1
        }
        connection.transport.send(frame)
        return 1
    }

    /// Sends to every open connection of a user, on every node; returns how many here.
    func sendToUser(id: String, _ message: OutgoingMessage) throws(ActionRefusal) -> Int {
        let frame = try frame(message)
        let connections = (services.state.user(id: id)?.connections ?? []).filter { !$0.isClosed }
        services.fanOut.deliver(frame, to: connections)
        everywhere(.notifyUser(user: id, frame: frame.bytes), foundHere: !connections.isEmpty, requiresTarget: false)
        return connections.count
    }

    /// Has the broker carry `command` to the other nodes, tracked by ``wait`` (nothing to do without one):
    /// with `requiresTarget`, the step fails with GD_ERR_NOT_FOUND when no node held the target.
    private func everywhere(_ command: ControlCommand, foundHere: Bool, requiresTarget: Bool) {
        guard let wait else { return }
        wait.begin()
        services.broker.send(command) { result in
            switch result {
            case .success(let tally) where requiresTarget && !foundHere && !tally.found:
                wait.end(.notFound("no node has \(command.user.map { "user `\($0)`" } ?? "that connection")"))
            case .success: wait.end()
            case .failure(let error): wait.end(error)
            }
        }
    }

    /// Sends to every member of a room (without the origin when asked); returns how many.
    func sendToRoom(_ room: UnsafeRawBufferPointer, _ message: OutgoingMessage) throws(ActionRefusal) -> Int {
        guard room.count > 0 else { throw .invalid("a room name is required") }
        let frame = try frame(message, target: room)
        let name = String(decoding: room, as: UTF8.self)
        return services.publish(frame, toRoom: name, excluding: message.excludeOrigin ? origin : nil, wait: wait).recipients
    }

    /// Adds the origin to a room, within the room-name, rooms-per-connection and `max_members` limits;
    /// in a `presence: full` room the origin is listed with the rule's `presence_info` evaluated against
    /// `cargo` (the join message's).
    ///
    /// With `sendsJoined` (the host's `join_since`), in a room with history the origin also gets `_joined`
    /// (its position, the frames after `since` when they can all be recovered, and in a `presence: full`
    /// room the presence state), enqueued in the same lock as the membership insert, so every frame of the
    /// room reaches it exactly once: in `_joined` or live after it. A connection that already was a member
    /// gets `_joined` without publications. The host's plain `join` sends no `_joined`.
    func join(_ room: String, cargo: Cargo? = nil, since: StreamPosition? = nil, sendsJoined: Bool = true) throws(ActionRefusal) {
        let limits = services.limits
        guard !room.isEmpty, room.utf8.count <= limits.maxRoomNameBytes else {
            throw .invalid("room names are 1 to \(limits.maxRoomNameBytes) bytes")
        }
        let origin = try required("join")
        guard !origin.isClosed else { throw .notFound }
        if !origin.mayJoin(room, limit: limits.maxRoomsPerConnection) { throw .forbidden }
        let options = services.joinOptions(for: room, cargo: cargo)
        if let shared = services.broker.history, let rule = services.here.historyRule(ofRoom: room) {
            return try joinShared(room, origin: origin, options: options, rule: rule, history: shared, since: since, sendsJoined: sendsJoined)
        }
        while let stream = services.streams.stream(for: room) {
            let outcome = stream.withHistory(now: services.clock()) { history -> RoomJoinResult in
                let result = services.state.join(origin, room: room, options: options)
                guard sendsJoined, result == .joined || result == .alreadyMember else { return result }
                let recovered = result == .joined ? since.map { history.recover(since: $0) } ?? nil : nil
                // On the origin's executor: the transport enqueues it now, before any live frame of the
                // room published after this lock is released.
                origin.transport.send(
                    HistoryFrames.joined(
                        room: room, position: history.position, recovered: recovered,
                        presence: services.presenceStateJSON(room: room), ref: ref))
                return result
            }
            guard let outcome else { continue }  // that stream was just dropped: the room has a new one
            try Self.check(outcome)
            if let wait { services.broker.awaitRoom(room, wait: wait) }
            return
        }
        try Self.check(services.state.join(origin, room: room, options: options))
        if let wait { services.broker.awaitRoom(room, wait: wait) }
    }

    /// A join of a room whose history the cluster shares: the origin becomes a member here at once, and
    /// (for `join_since`) gets `_joined` once this node hears the room's frames and the shared history has
    /// been read; live frames that arrive meanwhile are held back and sent after it, those the read already
    /// saw dropped (``RecoveringMembers``).
    private func joinShared(
        _ room: String, origin: Connection, options: RoomJoinOptions, rule: RoomRule, history: any BrokerHistory,
        since: StreamPosition?, sendsJoined: Bool
    ) throws(ActionRefusal) {
        guard sendsJoined, let wait else {
            try Self.check(services.state.join(origin, room: room, options: options))
            if let wait { services.broker.awaitRoom(room, wait: wait) }
            return
        }
        let recovering = services.recovering
        recovering.begin(connection: origin, room: room)
        let result = services.state.join(origin, room: room, options: options)
        guard result == .joined || result == .alreadyMember else {
            recovering.finish(connection: origin, room: room, joined: nil, top: 0)
            return try Self.check(result)
        }
        let (services, ref) = (self.services, self.ref)
        let subscribed = BrokerWait()
        services.broker.awaitRoom(room, wait: subscribed)
        wait.begin()
        subscribed.whenSettled { failure in
            if let failure {
                recovering.finish(connection: origin, room: room, joined: nil, top: 0)
                return wait.end(failure)
            }
            // A new member reads what it missed (up to one more than recovery allows, to tell "too many").
            let after = result == .joined ? since : nil
            let limit = after == nil ? 0 : max(0, rule.recoveryMax) + 1
            history.read(room: room, rule: rule, since: after?.offset, limit: limit, reverse: false) { read in
                switch read {
                case .success(let read):
                    let recovered = after.flatMap { rule.recoverable(since: $0, position: read.position, after: read.publications[...]) }
                    let joined = HistoryFrames.joined(
                        room: room, position: read.position, recovered: recovered, presence: services.presenceStateJSON(room: room),
                        ref: ref)
                    recovering.finish(connection: origin, room: room, joined: joined, top: read.position.offset)
                    history.noteJoined(room: room, at: read.position)
                    wait.end()
                case .failure(let failure):
                    recovering.finish(connection: origin, room: room, joined: nil, top: 0)
                    wait.end(failure)
                }
            }
        }
    }

    /// What a join's result means for the action.
    private static func check(_ result: RoomJoinResult) throws(ActionRefusal) {
        switch result {
        case .joined, .alreadyMember: return
        case .closed: throw .notFound
        case .full: throw .roomFull
        }
    }

    /// The room's presence as JSON (per its rule's mode); GD_ERR_NOT_FOUND when the room keeps none.
    func presence(_ room: String) throws(ActionRefusal) -> [UInt8] {
        guard !room.isEmpty else { throw .invalid("a room name is required") }
        guard let json = services.presenceJSON(room: room) else { throw .notFound }
        return json
    }

    /// Users and connections in the room's presence; GD_ERR_NOT_FOUND when the room keeps none.
    func presenceCounts(_ room: String) throws(ActionRefusal) -> (users: Int, connections: Int) {
        guard !room.isEmpty else { throw .invalid("a room name is required") }
        guard let counts = services.presenceCounts(room: room) else { throw .notFound }
        return counts
    }

    /// Sends the origin `_history`: the room's position and its newest `limit` frames (nil: all held).
    /// Returns how many frames it carried; refuses a room without history.
    func sendHistory(room: String, limit: Int?) throws(ActionRefusal) -> Int {
        let origin = try required("send_history")
        guard !room.isEmpty else { throw .invalid("a room name is required") }
        if let shared = services.broker.history, let rule = services.here.historyRule(ofRoom: room), let wait {
            // Read from the cluster's shared history: the frame goes out (and the step completes) when the
            // read answers, so the count is not known here.
            let ref = self.ref
            wait.begin()
            shared.read(room: room, rule: rule, since: nil, limit: limit ?? -1, reverse: true) { read in
                switch read {
                case .success(let read):
                    if !origin.isClosed {
                        origin.transport.send(
                            HistoryFrames.history(room: room, position: read.position, publications: read.publications.reversed()[...], ref: ref))
                    }
                    wait.end()
                case .failure(let failure):
                    wait.end(failure)
                }
            }
            return 0
        }
        while let stream = services.streams.stream(for: room) {
            let built = stream.withHistory(now: services.clock()) { history in
                let publications = history.last(limit)
                return (
                    HistoryFrames.history(room: room, position: history.position, publications: publications, ref: ref),
                    publications.count
                )
            }
            guard let (frame, count) = built else { continue }
            guard !origin.isClosed else { return 0 }
            origin.transport.send(frame)
            return count
        }
        throw .notFound
    }

    /// Removes the origin from a room it is a member of.
    ///
    /// In a room with history the leave holds the stream's lock: a frame published before it was handed
    /// to the origin's event loop before the leave, so it reaches the client before anything the leave
    /// (or a later join) sends, never after a later `_joined` that also replays it.
    func leave(_ room: String) throws(ActionRefusal) {
        let origin = try required("leave")
        var left: Bool?
        while left == nil, let stream = services.streams.stream(for: room) {
            left = stream.withMembershipLock { services.state.leave(origin, room: room) }
        }
        guard left ?? services.state.leave(origin, room: room) else { throw .notFound }
    }

    /// The user `id` names (nil or empty = the origin's user), if connected here.
    private func user(_ id: String?, for function: String) throws(ActionRefusal) -> User {
        guard let id, !id.isEmpty else { return try required(function).user }
        guard let user = services.state.user(id: id) else { throw .notFound }
        return user
    }

    /// Whether a connected user (nil = the origin's) holds `permission` now.
    func hasPermission(user id: String?, _ permission: String) throws(ActionRefusal) -> Bool {
        try user(id, for: "has_permission").permissions.contains(permission)
    }

    /// Changes a connected user's live permissions (nil = the origin's user), for all its connections on
    /// every node: the step completes once every node holding the user applied it, so the user's very
    /// next message, wherever it arrives, is judged by the new permissions.
    func setPermissions(user id: String?, _ change: PermissionChange) throws(ActionRefusal) {
        let target: User?
        do {
            target = try user(id, for: "set_permissions")
        } catch .notFound where wait != nil {
            target = nil  // not here: maybe on another node
        }
        let update: BackendCommands.PermissionUpdate
        switch change {
        case .set(let list): update = .set(list)
        case .add(let list): update = .add(list)
        case .remove(let list): update = .remove(list)
        }
        switch update {
        case .set(let list): target?.permissions.set(list)
        case .add(let list): target?.permissions.add(list)
        case .remove(let list): target?.permissions.remove(list)
        }
        let userID = target?.id ?? id ?? ""
        everywhere(.setPermissions(user: userID, update), foundHere: target != nil, requiresTarget: true)
    }

    /// Closes a connection or every connection of a user with `code`; returns how many.
    func disconnect(_ target: DisconnectTarget, code: UInt16, reason: String) throws(ActionRefusal) -> Int {
        guard Self.isAllowedCloseCode(code) else {
            throw .invalid("close code \(code) is not one actions may use (1000, 1008 or 4000-4999)")
        }
        let connections: [Connection]
        switch target {
        case .connection(let id): connections = services.state.connection(id: id).map { [$0] } ?? []
        case .user(let id): connections = services.state.user(id: id)?.connections ?? []
        }
        let open = connections.filter { !$0.isClosed }
        for connection in open { connection.transport.close(code: code, reason: reason) }
        switch target {
        case .connection(let id) where open.isEmpty:
            everywhere(.disconnectConnection(connection: id, code: code, reason: reason, user: nil), foundHere: false, requiresTarget: false)
        case .connection: break
        case .user(let id):
            everywhere(.disconnectUser(user: id, code: code, reason: reason), foundHere: !open.isEmpty, requiresTarget: false)
        }
        return open.count
    }

    /// Whether a connection (nil or empty = the origin) is a member of `room`.
    func isMember(connection id: String?, room: String) throws(ActionRefusal) -> Bool {
        let connection: Connection
        if let id, !id.isEmpty {
            guard let found = services.state.connection(id: id) else { throw .notFound }
            connection = found
        } else {
            // No origin: plain GD_ERR_NOT_FOUND, unlogged; `_notify_room` asks this on every server-event
            // publish to learn there is no sender to guard.
            guard let origin else { throw .notFound }
            connection = origin
        }
        return connection.isMember(of: room)
    }

    /// The origin connection, or a refusal naming the host function that needs one.
    private func required(_ function: String) throws(ActionRefusal) -> Connection {
        guard let origin else {
            throw .noOrigin(
                "`\(function)` acts on the connection that sent the message, and a server event has none; "
                    + "name a user or connection explicitly, or flag the action GD_ACTION_NEEDS_ORIGIN so the "
                    + "configuration refuses it in `server_events:`")
        }
        return origin
    }
}
