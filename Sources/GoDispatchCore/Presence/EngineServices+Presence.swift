extension EngineServices {
    /// The options a connection joins `room` with: the room's rule (one glob match, on join only) and,
    /// for `presence: full`, its `presence_info` evaluated against `cargo` (the join message's).
    func joinOptions(for room: String, cargo: Cargo?) -> RoomJoinOptions {
        let rooms = roomRules.rules
        guard let rule = rooms.rule(for: room) else { return .none }
        var info: [UInt8]?
        if rule.presence == .full, let template = rooms.infoTemplate(for: rule), let cargo {
            var writer = JSONWriter()
            cargo.evaluate(template).write(to: &writer)
            info = writer.bytes
        }
        return RoomJoinOptions(rule: rule, info: info)
    }

    /// The join options for a connection a backend joins (no message: `{{payload…}}` is null).
    func joinOptions(for room: String, connection: Connection) -> RoomJoinOptions {
        var envelope = JSONWriter()
        envelope.writeASCII("{\"event\":\"_join\",\"target\":")
        envelope.writeString(room)
        envelope.writeASCII("}")
        let cargo = (try? EnvelopeParser.parse(envelope.bytes)).map { Cargo(message: $0, origin: connection) }
        return joinOptions(for: room, cargo: cargo)
    }

    /// What presence `room` keeps: the rule it was created with while it exists, else the rule in force.
    func presenceMode(ofRoom room: String) -> PresenceMode {
        (state.rule(ofRoom: room) ?? roomRules.rules.rule(for: room))?.presence ?? .off
    }

    /// The room's presence as `_presence` answers it (`{"count","users"}` for `full`, `{"count",
    /// "connections"}` for `stats`); nil when the room keeps no presence.
    func presenceJSON(room: String) -> [UInt8]? {
        let mode = presenceMode(ofRoom: room)
        guard mode != .off else { return nil }
        return state.presence(ofRoom: room)?.stateJSON ?? RoomPresence.emptyStateJSON(mode: mode)
    }

    /// The `{"count":N,"users":{…}}` object of a `presence: full` room (for the `_joined` frame); nil for any
    /// other room.
    public func presenceStateJSON(room: String) -> [UInt8]? {
        guard presenceMode(ofRoom: room) == .full else { return nil }
        return state.presence(ofRoom: room)?.stateJSON ?? RoomPresence.emptyStateJSON(mode: .full)
    }

    /// Users and connections in the room's presence; nil when the room keeps none.
    func presenceCounts(room: String) -> (users: Int, connections: Int)? {
        guard presenceMode(ofRoom: room) != .off else { return nil }
        let presence = state.presence(ofRoom: room)
        return (presence?.users.count ?? 0, presence?.connectionCount ?? 0)
    }
}
