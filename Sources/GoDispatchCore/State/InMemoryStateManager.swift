
/// The single-node state core, all in memory.
///
/// Rooms live behind a reader-writer lock: publishers read a room's member snapshot under the shared
/// lock and never block each other; joins and leaves take it exclusively and replace the snapshot.
public final class InMemoryStateManager: StateManager {
    private struct Directory {
        var users: [String: User] = [:]
        var connections: [String: Connection] = [:]
    }

    private let directory = Locked(Directory())
    private let roomsLock = ReadWriteLock()
    nonisolated(unsafe) private var rooms: [String: Room] = [:]

    /// Creates an empty state.
    public init() {}

    public func connect(
        userID: String, permissions: some Sequence<String>, transport: any ConnectionTransport
    ) -> Connection {
        let id = Self.makeConnectionID()
        return directory.withLock { directory in
            let user = directory.users[userID] ?? User(id: userID, permissions: permissions)
            directory.users[userID] = user
            let connection = Connection(id: id, user: user, transport: transport)
            directory.connections[id] = connection
            user.add(connection)
            return connection
        }
    }

    public func disconnect(_ connection: Connection) {
        roomsLock.withWriteLock {
            // Closed under the same lock joins take: a join either ran before (and is undone here) or
            // sees the connection closed.
            _ = connection.markClosed()
            for room in connection.removeAllRooms() { removeMemberLocked(connection, from: room) }
        }
        directory.withLock { directory in
            guard directory.connections.removeValue(forKey: connection.id) != nil else { return }
            if connection.user.remove(connection) == 0, directory.users[connection.user.id] === connection.user {
                directory.users.removeValue(forKey: connection.user.id)
            }
        }
    }

    // The connection's own room set and the room's member list change together under the rooms write
    // lock, so concurrent joins and leaves can never leave them disagreeing.

    @discardableResult
    public func join(_ connection: Connection, room name: String) -> Bool {
        roomsLock.withWriteLock {
            guard !connection.isClosed, connection.insertRoom(name) else { return false }
            let room = rooms[name] ?? Room(name: name)
            rooms[name] = room
            room.members.append(connection)
            return true
        }
    }

    @discardableResult
    public func leave(_ connection: Connection, room name: String) -> Bool {
        roomsLock.withWriteLock {
            guard connection.removeRoom(name) else { return false }
            removeMemberLocked(connection, from: name)
            return true
        }
    }

    /// Removes a member; the caller holds the rooms write lock.
    private func removeMemberLocked(_ connection: Connection, from name: String) {
        guard let room = rooms[name] else { return }
        room.members.removeAll { $0 === connection }
        if room.members.isEmpty { rooms.removeValue(forKey: name) }
    }

    public func members(ofRoom room: String) -> [Connection] {
        roomsLock.withReadLock { rooms[room]?.members ?? [] }
    }

    public func user(id: String) -> User? { directory.withLock { $0.users[id] } }

    public func connection(id: String) -> Connection? { directory.withLock { $0.connections[id] } }

    public var allConnections: [Connection] { directory.withLock { Array($0.connections.values) } }

    public var connectionCount: Int { directory.withLock { $0.connections.count } }

    public var roomCount: Int { roomsLock.withReadLock { rooms.count } }

    public var userCount: Int { directory.withLock { $0.users.count } }

    /// 64 random bits as 16 hex digits: unguessable, so a connection id cannot be forged by a client.
    static func makeConnectionID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
