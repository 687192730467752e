
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
    /// Presence of the rooms whose rule keeps it; updated under the rooms write lock.
    public let presence: any PresenceStore
    private let listener = Locked<(any PresenceListener)?>(nil)
    /// Told when a room comes or goes here; read under the rooms lock, which changes them.
    nonisolated(unsafe) private var observer: (any LocalMembershipObserver)?

    /// Creates an empty state, keeping presence in `presence`.
    public init(presence: any PresenceStore = InMemoryPresenceStore()) {
        self.presence = presence
    }

    public func setPresenceListener(_ listener: (any PresenceListener)?) { self.listener.withLock { $0 = listener } }

    /// Set once, before the first connection (the engine does it at start-up).
    public func setMembershipObserver(_ observer: (any LocalMembershipObserver)?) {
        roomsLock.withWriteLock { self.observer = observer }
    }

    public func connect(
        id: String?, userID: String, permissions: some Sequence<String>, claims: [UInt8]?, transport: any ConnectionTransport
    ) -> Connection {
        let id = id ?? Self.makeConnectionID()
        let connection = directory.withLock { directory in
            let user = directory.users[userID] ?? User(id: userID, permissions: permissions)
            directory.users[userID] = user
            let connection = Connection(id: id, user: user, claims: claims, transport: transport)
            directory.connections[id] = connection
            user.add(connection)
            return connection
        }
        observer?.connectionOpened(connection)
        return connection
    }

    public func disconnect(_ connection: Connection) {
        let changes = roomsLock.withWriteLock {
            // Closed under the same lock joins take: a join either ran before (and is undone here) or
            // sees the connection closed.
            _ = connection.markClosed()
            return connection.removeAllRooms().compactMap { removeMemberLocked(connection, from: $0) }
        }
        announce(changes, by: connection)
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
        join(connection, room: name, options: .none) == .joined
    }

    public func join(_ connection: Connection, room name: String, options: RoomJoinOptions) -> RoomJoinResult {
        let (result, change) = roomsLock.withWriteLock { () -> (RoomJoinResult, RoomChange?) in
            guard !connection.isClosed else { return (.closed, nil) }
            guard !connection.isMember(of: name) else { return (.alreadyMember, nil) }
            let room = rooms[name] ?? Room(name: name, rule: options.rule)
            // The cap counts connections, checked under the write lock so concurrent joins cannot overshoot.
            if let limit = room.rule?.maxMembers, room.members.count >= limit { return (.full, nil) }
            _ = connection.insertRoom(name)
            if rooms[name] == nil { observer?.roomOpened(name) }
            rooms[name] = room
            room.members.append(connection)
            guard let rule = room.rule, room.keepsPresence else { return (.joined, nil) }
            let info = rule.presence == .full ? options.info : nil
            let change = presence.add(
                room: name, mode: rule.presence, user: connection.user.id, connection: connection.id, info: info)
            return (.joined, change.map { RoomChange(room: name, rule: rule, change: $0) })
        }
        announce(change.map { [$0] } ?? [], by: connection)
        return result
    }

    @discardableResult
    public func leave(_ connection: Connection, room name: String) -> Bool {
        let (left, change) = roomsLock.withWriteLock { () -> (Bool, RoomChange?) in
            guard connection.removeRoom(name) else { return (false, nil) }
            return (true, removeMemberLocked(connection, from: name))
        }
        announce(change.map { [$0] } ?? [], by: connection)
        return left
    }

    public func presence(ofRoom room: String) -> RoomPresence? { presence.presence(ofRoom: room) }

    public func rule(ofRoom room: String) -> RoomRule? { roomsLock.withReadLock { rooms[room]?.rule } }

    /// A presence change to announce once the locks are released.
    private struct RoomChange {
        let room: String
        let rule: RoomRule
        let change: PresenceChange
    }

    /// Removes a member; the caller holds the rooms write lock. Returns the presence change it makes.
    private func removeMemberLocked(_ connection: Connection, from name: String) -> RoomChange? {
        guard let room = rooms[name] else { return nil }
        room.members.removeAll { $0 === connection }
        if room.members.isEmpty {
            rooms.removeValue(forKey: name)
            observer?.roomClosed(name)
        }
        guard let rule = room.rule, room.keepsPresence,
            let change = presence.remove(room: name, user: connection.user.id, connection: connection.id)
        else { return nil }
        return RoomChange(room: name, rule: rule, change: change)
    }

    /// Tells the listener about presence changes (outside every lock).
    private func announce(_ changes: [RoomChange], by connection: Connection) {
        guard !changes.isEmpty, let listener = listener.withLock({ $0 }) else { return }
        for change in changes {
            listener.presenceChanged(
                change.change, room: change.room, rule: change.rule, executor: connection.transport.executor, state: self)
        }
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

    public func roomSizes() -> [(name: String, members: Int)] {
        roomsLock.withReadLock { rooms.map { (name: $0.key, members: $0.value.members.count) } }
    }

    /// 60 random bits as 15 hex digits: unguessable, so a connection id cannot be forged by a client; and
    /// short enough to be a small (inline) Swift string, so an id costs no allocation wherever it is kept.
    public static func makeConnectionID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = (generator.next() as UInt64) >> 4
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 15 - hex.count) + hex
    }
}
