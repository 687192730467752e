extension RoomPresence {
    /// The `_presence_state` payload: `{"count":users,"users":{"<id>":{"connections":n,"info":…}}}` for
    /// `full`, `{"count":users,"connections":n}` for `stats` (users sorted by id, so it is stable).
    public var stateJSON: [UInt8] { Self.stateJSON(self, mode: mode) }

    /// The payload for a room nobody is in.
    public static func emptyStateJSON(mode: PresenceMode) -> [UInt8] { stateJSON(RoomPresence(mode: mode), mode: mode) }

    private static func stateJSON(_ presence: RoomPresence, mode: PresenceMode) -> [UInt8] {
        var writer = JSONWriter()
        writer.writeASCII("{\"count\":")
        writer.writeRaw(String(presence.users.count).utf8)
        guard mode == .full else {
            writer.writeASCII(",\"connections\":")
            writer.writeRaw(String(presence.connectionCount).utf8)
            writer.writeASCII("}")
            return writer.bytes
        }
        writer.writeASCII(",\"users\":{")
        for (index, user) in presence.users.keys.sorted().enumerated() {
            let member = presence.users[user]!
            if index > 0 { writer.writeASCII(",") }
            writer.writeString(user)
            writer.writeASCII(":{\"connections\":")
            writer.writeRaw(String(member.connections.count).utf8)
            writer.writeASCII(",\"info\":")
            writer.writeRaw(member.info ?? Array("null".utf8))
            writer.writeASCII("}")
        }
        writer.writeASCII("}}")
        return writer.bytes
    }
}
