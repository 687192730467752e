/// A change of a room's presence that members are told about: a user's first connection joined, or its
/// last one left. Other connections of a user change counts only.
public enum PresenceChange: Sendable, Equatable {
    /// The user's first connection joined the room, with the info it joined with.
    case joined(user: String, info: [UInt8]?)
    /// The user's last connection left the room; `info` is what the user was listed with.
    case left(user: String, info: [UInt8]?)
}
