/// Who is in one room, per user: a user with three tabs in the room is one member with three connections
/// (like Phoenix.Presence). A value: the state core keeps one per room whose rule keeps presence, and
/// tests drive it without locks.
public struct RoomPresence: Sendable, Equatable {
    /// One user's connections in the room, oldest first, each with the `info` its join produced.
    public struct Member: Sendable, Equatable {
        /// Connection ids with their info (JSON; nil = none), oldest first.
        public fileprivate(set) var connections: [(id: String, info: [UInt8]?)]

        /// The user's info: the one its oldest connection in the room joined with.
        public var info: [UInt8]? { connections.first?.info ?? nil }

        public static func == (lhs: Member, rhs: Member) -> Bool {
            lhs.connections.map(\.id) == rhs.connections.map(\.id) && lhs.connections.map(\.info) == rhs.connections.map(\.info)
        }
    }

    /// What the room's rule keeps (`stats` or `full`).
    public let mode: PresenceMode
    /// Members by user id.
    public private(set) var users: [String: Member] = [:]
    /// Connections in the room, over all users.
    public private(set) var connectionCount = 0

    /// An empty room keeping `mode`.
    public init(mode: PresenceMode) { self.mode = mode }

    /// True when nobody is in the room.
    public var isEmpty: Bool { connectionCount == 0 }

    /// Adds a connection; returns the join when it is the user's first connection in the room.
    public mutating func add(user: String, connection: String, info: [UInt8]?) -> PresenceChange? {
        if var member = users[user] {
            guard !member.connections.contains(where: { $0.id == connection }) else { return nil }
            member.connections.append((connection, info))
            users[user] = member
            connectionCount += 1
            return nil
        }
        users[user] = Member(connections: [(connection, info)])
        connectionCount += 1
        return .joined(user: user, info: info)
    }

    /// Removes a connection; returns the leave when it was the user's last connection in the room.
    public mutating func remove(user: String, connection: String) -> PresenceChange? {
        guard var member = users[user], let index = member.connections.firstIndex(where: { $0.id == connection }) else {
            return nil
        }
        let info = member.info
        member.connections.remove(at: index)
        connectionCount -= 1
        guard member.connections.isEmpty else {
            users[user] = member
            return nil
        }
        users.removeValue(forKey: user)
        return .left(user: user, info: info)
    }
}
