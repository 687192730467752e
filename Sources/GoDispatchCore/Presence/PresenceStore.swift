/// Where rooms' presence lives. The state core updates it on join, leave and disconnect (under its own
/// rooms lock, so presence and membership never disagree); on one node it is ``InMemoryPresenceStore``,
/// and a shared broker can hold the same per-room state for many nodes behind this protocol.
public protocol PresenceStore: Sendable {
    /// Adds a connection of `user` to `room`'s presence (created keeping `mode` on first use); returns the
    /// join when it is the user's first connection there.
    func add(room: String, mode: PresenceMode, user: String, connection: String, info: [UInt8]?) -> PresenceChange?
    /// Removes a connection; returns the leave when it was the user's last one (the room goes when empty).
    func remove(room: String, user: String, connection: String) -> PresenceChange?
    /// A snapshot of a room's presence; nil if the room keeps none or is empty.
    func presence(ofRoom room: String) -> RoomPresence?
}

/// Presence of this node's rooms, in memory.
public final class InMemoryPresenceStore: PresenceStore {
    private let rooms = Locked<[String: RoomPresence]>([:])

    /// An empty store.
    public init() {}

    public func add(room: String, mode: PresenceMode, user: String, connection: String, info: [UInt8]?) -> PresenceChange? {
        rooms.withLock { rooms in
            var presence = rooms.removeValue(forKey: room) ?? RoomPresence(mode: mode)
            defer { rooms[room] = presence }
            return presence.add(user: user, connection: connection, info: info)
        }
    }

    public func remove(room: String, user: String, connection: String) -> PresenceChange? {
        rooms.withLock { rooms in
            guard var presence = rooms.removeValue(forKey: room) else { return nil }
            let change = presence.remove(user: user, connection: connection)
            if !presence.isEmpty { rooms[room] = presence }
            return change
        }
    }

    public func presence(ofRoom room: String) -> RoomPresence? { rooms.withLock { $0[room] } }
}
