/// The state core: users, connections and rooms on this node, the single source of truth.
///
/// Implementations are safe to call from any event loop. ``members(ofRoom:)`` is the publish path and
/// must not contend with other publishers.
public protocol StateManager: Sendable {
    /// Registers a new connection for `userID`, creating the user on its first connection, and keeps the
    /// verified token's claims (a JSON object) on it for `{{user.claims.<path>}}`.
    /// An existing user keeps its live permissions; `permissions` seeds a new user only.
    /// `id` names the connection (nil: a new random one; a cluster decides it earlier, when it reserves
    /// the connection's slot).
    func connect(
        id: String?, userID: String, permissions: some Sequence<String>, claims: [UInt8]?, transport: any ConnectionTransport
    ) -> Connection
    /// Marks a connection closed and removes it from its rooms and its user; the user goes when its last
    /// connection does.
    func disconnect(_ connection: Connection)
    /// Adds a connection to a room (created on first join). Returns false if it was already a member or
    /// is closed (a closed connection never joins again).
    @discardableResult func join(_ connection: Connection, room: String) -> Bool
    /// Adds a connection to a room under the room's rule: refused when the room has `max_members`
    /// connections, and tracked in presence when the rule keeps it (telling the presence listener when it
    /// is the user's first connection there). Leaves and disconnects update presence likewise.
    func join(_ connection: Connection, room: String, options: RoomJoinOptions) -> RoomJoinResult
    /// A room's presence (nil when the room keeps none or is empty).
    func presence(ofRoom room: String) -> RoomPresence?
    /// The rule an existing room follows (cached when it was created); nil if it has none or does not exist.
    func rule(ofRoom room: String) -> RoomRule?
    /// Who hears about presence changes (the engine installs its ``PresenceBroadcaster``).
    func setPresenceListener(_ listener: (any PresenceListener)?)
    /// Who hears when this node's rooms and users come and go (the engine installs its broker). Called
    /// under the state's locks, in order.
    func setMembershipObserver(_ observer: (any LocalMembershipObserver)?)
    /// Removes a connection from a room (dropped when empty). Returns false if it was not a member.
    @discardableResult func leave(_ connection: Connection, room: String) -> Bool
    /// A snapshot of the room's members (empty if the room does not exist).
    func members(ofRoom room: String) -> [Connection]
    /// A connected user by id.
    func user(id: String) -> User?
    /// A connection by id.
    func connection(id: String) -> Connection?
    /// Every open connection (for shutdown and administration; not a hot path).
    var allConnections: [Connection] { get }
    /// How many connections are open.
    var connectionCount: Int { get }
    /// How many rooms exist.
    var roomCount: Int { get }
    /// How many users have a connection.
    var userCount: Int { get }
    /// Every room with its member count (for administration; not a hot path).
    func roomSizes() -> [(name: String, members: Int)]
}

extension StateManager {
    /// Registers a connection with a new random id.
    public func connect(
        userID: String, permissions: some Sequence<String>, claims: [UInt8]?, transport: any ConnectionTransport
    ) -> Connection {
        connect(id: nil, userID: userID, permissions: permissions, claims: claims, transport: transport)
    }

    /// Registers a connection without token claims.
    public func connect(
        userID: String, permissions: some Sequence<String>, transport: any ConnectionTransport
    ) -> Connection {
        connect(userID: userID, permissions: permissions, claims: nil, transport: transport)
    }
}
