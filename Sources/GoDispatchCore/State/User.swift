
/// The canonical user: its id, its live permissions and its connections on this node.
public final class User: Sendable {
    /// The user id (the JWT's `sub`).
    public let id: String
    /// Live global permissions, shared by every connection of the user.
    public let permissions: PermissionSet
    private let connectionList: Locked<[Connection]>

    init(id: String, permissions: some Sequence<String>) {
        self.id = id
        self.permissions = PermissionSet(permissions)
        self.connectionList = Locked([])
    }

    /// The user's open connections, oldest first.
    public var connections: [Connection] { connectionList.withLock { $0 } }

    func add(_ connection: Connection) { connectionList.withLock { $0.append(connection) } }

    /// Removes a connection; returns how many remain.
    func remove(_ connection: Connection) -> Int {
        connectionList.withLock { list in
            list.removeAll { $0 === connection }
            return list.count
        }
    }
}
