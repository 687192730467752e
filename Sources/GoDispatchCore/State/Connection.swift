import Synchronization

/// One client connection: who it belongs to, the rooms it joined, and how to reach it.
public final class Connection: Sendable {
    /// A random, unguessable id (hex).
    public let id: String
    /// The user the connection authenticated as; its permissions are live.
    public let user: User
    /// How frames reach the client, and the serial executor its messages run on.
    public let transport: any ConnectionTransport
    private let joinedRooms: Mutex<Set<String>>
    /// Per-connection pipeline ordering, touched only on the connection's executor.
    let inbox: ConnectionInbox

    init(id: String, user: User, transport: any ConnectionTransport) {
        self.id = id
        self.user = user
        self.transport = transport
        self.joinedRooms = Mutex([])
        self.inbox = ConnectionInbox()
    }

    /// The rooms this connection is a member of.
    public var rooms: Set<String> { joinedRooms.withLock { $0 } }

    func insertRoom(_ room: String) -> Bool { joinedRooms.withLock { $0.insert(room).inserted } }
    func removeRoom(_ room: String) -> Bool { joinedRooms.withLock { $0.remove(room) != nil } }
    func removeAllRooms() -> Set<String> { joinedRooms.withLock { rooms in defer { rooms = [] }; return rooms } }
}
