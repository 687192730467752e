import Synchronization

/// One client connection: who it belongs to, the rooms it joined, and how to reach it.
public final class Connection: Sendable {
    /// A random, unguessable id (hex).
    public let id: String
    /// The user the connection authenticated as; its permissions are live.
    public let user: User
    /// How frames reach the client, and the serial executor its messages run on.
    public let transport: any ConnectionTransport
    private let claimsStorage: Locked<[UInt8]?>
    private let joinedRooms: Locked<Set<String>>
    private let closed = Atomic<Bool>(false)
    /// Per-connection pipeline ordering, touched only on the connection's executor.
    let inbox: ConnectionInbox

    init(id: String, user: User, claims: [UInt8]? = nil, transport: any ConnectionTransport) {
        self.id = id
        self.user = user
        self.claimsStorage = Locked(claims)
        self.transport = transport
        self.joinedRooms = Locked([])
        self.inbox = ConnectionInbox()
    }

    /// True once the connection has left the state core: it joins no room, receives nothing, and its
    /// pending pipelines stop at their next step.
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Marks the connection closed (by the state core, under its rooms lock). Returns false if it already was.
    func markClosed() -> Bool { !closed.exchange(true, ordering: .acquiringAndReleasing) }

    /// The verified token's claims (a JSON object), read by `{{user.claims.<path>}}`; nil without a token.
    public var claims: [UInt8]? { claimsStorage.withLock { $0 } }

    /// Replaces the claims with those of a refreshed token (`auth.refresh`). Presence `info` already
    /// computed at a join stays as it was.
    public func replaceClaims(_ claims: [UInt8]?) { claimsStorage.withLock { $0 = claims } }

    /// The rooms this connection is a member of.
    public var rooms: Set<String> { joinedRooms.withLock { $0 } }

    func insertRoom(_ room: String) -> Bool { joinedRooms.withLock { $0.insert(room).inserted } }
    func removeRoom(_ room: String) -> Bool { joinedRooms.withLock { $0.remove(room) != nil } }
    func removeAllRooms() -> Set<String> { joinedRooms.withLock { rooms in defer { rooms = [] }; return rooms } }
}
