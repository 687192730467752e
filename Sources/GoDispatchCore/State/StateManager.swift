/// The state core: users, connections and rooms on this node, the single source of truth.
///
/// Implementations are safe to call from any event loop. ``members(ofRoom:)`` is the publish path and
/// must not contend with other publishers.
public protocol StateManager: Sendable {
    /// Registers a new connection for `userID`, creating the user on its first connection.
    /// An existing user keeps its live permissions; `permissions` seeds a new user only.
    func connect(userID: String, permissions: some Sequence<String>, transport: any ConnectionTransport) -> Connection
    /// Marks a connection closed and removes it from its rooms and its user; the user goes when its last
    /// connection does.
    func disconnect(_ connection: Connection)
    /// Adds a connection to a room (created on first join). Returns false if it was already a member or
    /// is closed (a closed connection never joins again).
    @discardableResult func join(_ connection: Connection, room: String) -> Bool
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
    /// How many users have at least one open connection.
    var userCount: Int { get }
}
