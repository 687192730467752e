
/// A user's live global permissions: one object shared by all of that user's connections,
/// so a change is seen by every connection's next message.
public final class PermissionSet: Sendable {
    private let storage: Locked<Set<String>>

    /// Starts with `permissions`.
    public init(_ permissions: some Sequence<String>) {
        storage = Locked(Set(permissions))
    }

    /// True if the permission is held now.
    public func contains(_ permission: String) -> Bool {
        storage.withLock { $0.contains(permission) }
    }

    /// A copy of the current permissions.
    public var snapshot: Set<String> { storage.withLock { $0 } }

    /// Replaces every permission.
    public func set(_ permissions: some Sequence<String>) {
        let new = Set(permissions)
        storage.withLock { $0 = new }
    }

    /// Adds permissions.
    public func add(_ permissions: some Sequence<String>) {
        storage.withLock { $0.formUnion(permissions) }
    }

    /// Removes permissions.
    public func remove(_ permissions: some Sequence<String>) {
        storage.withLock { $0.subtract(permissions) }
    }
}
