import Synchronization

/// One client connection: who it belongs to, the rooms it joined, and how to reach it.
public final class Connection: Sendable {
    /// A random, unguessable id (hex).
    public let id: String
    /// The user the connection authenticated as; its permissions are live.
    public let user: User
    /// How frames reach the client, and the serial executor its messages run on.
    public let transport: any ConnectionTransport
    /// What may change from any thread: the token's claims and the rooms joined (one lock for both).
    private let details: Locked<Details>
    private let closed = Atomic<Bool>(false)
    /// A pipeline of this connection's is under way: later messages wait in its ``inbox``. Touched only
    /// on the connection's executor.
    nonisolated(unsafe) var isBusy = false
    /// The waiting messages and the rate limiter, made when first needed (most connections never need
    /// them: an idle connection should cost as little as possible). Touched only on the connection's executor.
    nonisolated(unsafe) private(set) var inboxIfMade: ConnectionInbox?

    /// The mutable details behind ``details``.
    private struct Details {
        var claims: [UInt8]?
        var rooms = RoomSet()
    }

    init(id: String, user: User, claims: [UInt8]? = nil, transport: any ConnectionTransport) {
        self.id = id
        self.user = user
        self.details = Locked(Details(claims: claims))
        self.transport = transport
    }

    /// The connection's inbox, made on first use (on the connection's executor).
    var inbox: ConnectionInbox {
        if let inboxIfMade { return inboxIfMade }
        let made = ConnectionInbox()
        inboxIfMade = made
        return made
    }

    /// True once the connection has left the state core: it joins no room, receives nothing, and its
    /// pending pipelines stop at their next step.
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Marks the connection closed (by the state core, under its rooms lock). Returns false if it already was.
    func markClosed() -> Bool { !closed.exchange(true, ordering: .acquiringAndReleasing) }

    /// The verified token's claims (a JSON object), read by `{{user.claims.<path>}}`; nil without a token.
    public var claims: [UInt8]? { details.withLock { $0.claims } }

    /// Replaces the claims with those of a refreshed token (`auth.refresh`). Presence `info` already
    /// computed at a join stays as it was.
    public func replaceClaims(_ claims: [UInt8]?) { details.withLock { $0.claims = claims } }

    /// The rooms this connection is a member of.
    public var rooms: Set<String> { details.withLock { $0.rooms.names } }

    /// Whether the connection is a member of `room` (no copy of the set is taken).
    public func isMember(of room: String) -> Bool { details.withLock { $0.rooms.contains(room) } }

    /// Whether the connection may join `room` within `limit` rooms: it already is a member, or has fewer.
    public func mayJoin(_ room: String, limit: Int) -> Bool {
        details.withLock { $0.rooms.contains(room) || $0.rooms.count < limit }
    }

    func insertRoom(_ room: String) -> Bool { details.withLock { $0.rooms.insert(room) } }
    func removeRoom(_ room: String) -> Bool { details.withLock { $0.rooms.remove(room) } }
    func removeAllRooms() -> [String] { details.withLock { details in defer { details.rooms = RoomSet() }; return details.rooms.list } }
}
