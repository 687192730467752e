/// A room: a name and its members.
///
/// Members are an immutable snapshot array replaced on join and leave (copy-on-write), so a
/// publisher takes the current snapshot under a shared lock and fans out without holding it.
public final class Room: @unchecked Sendable {
    /// The room's name.
    public let name: String
    /// The current members; replaced only under the state manager's write lock.
    public internal(set) var members: [Connection]
    /// The rule the room follows, looked up once when the room was created (joins, leaves and disconnects
    /// read it; publishes never do). A room created again after it emptied looks its rule up again.
    public let rule: RoomRule?

    init(name: String, rule: RoomRule? = nil) {
        self.name = name
        self.members = []
        self.rule = rule
    }

    /// Whether the room keeps presence.
    var keepsPresence: Bool { (rule?.presence ?? .off) != .off }
}
