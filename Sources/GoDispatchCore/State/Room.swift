/// A room: a name and its members.
///
/// Members are an immutable snapshot array replaced on join and leave (copy-on-write), so a
/// publisher takes the current snapshot under a shared lock and fans out without holding it.
public final class Room: @unchecked Sendable {
    /// The room's name.
    public let name: String
    /// The current members; replaced only under the state manager's write lock.
    public internal(set) var members: [Connection]

    init(name: String) {
        self.name = name
        self.members = []
    }
}
