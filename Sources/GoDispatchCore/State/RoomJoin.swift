/// What a join brings besides the room's name: the room's rule (cached on the room while it exists) and
/// the joining connection's presence info.
public struct RoomJoinOptions: Sendable {
    /// The rule the room follows (nil: everything off). Used when the join creates the room; an existing
    /// room keeps the rule it was created with.
    public var rule: RoomRule?
    /// The connection's `info` in presence (JSON), from the rule's `presence_info`.
    public var info: [UInt8]?

    /// Options for a join under `rule`, listing the connection with `info`.
    public init(rule: RoomRule? = nil, info: [UInt8]? = nil) {
        self.rule = rule
        self.info = info
    }

    /// No rule, no info.
    public static let none = RoomJoinOptions()
}

/// How a join ended.
public enum RoomJoinResult: Sendable, Equatable {
    /// The connection is now a member.
    case joined
    /// It already was a member; nothing changed.
    case alreadyMember
    /// The connection has closed: a closed connection never joins again.
    case closed
    /// The room has `max_members` connections already.
    case full
}
