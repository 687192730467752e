/// What the engine keeps for a room's members: nothing, counts, or who is there.
public enum PresenceMode: String, Sendable, CaseIterable {
    /// No presence.
    case off
    /// Counts only (`_presence` answers `count`), no diffs.
    case stats
    /// Every user with their connections and info; diffs when `join_leave` is on.
    case full
}

/// `history:` of a room rule: how many frames a room keeps, and for how long.
public struct HistorySettings: Sendable, Equatable {
    /// Most frames kept (the oldest go first).
    public var size: Int
    /// How long a frame is kept.
    public var ttl: Duration

    /// Settings keeping `size` frames for `ttl`.
    public init(size: Int, ttl: Duration) {
        self.size = size
        self.ttl = ttl
    }
}

/// One entry of `rooms:`: the rules for the rooms whose name matches `pattern`.
public struct RoomRule: Sendable, Equatable {
    /// The glob the rule applies to (`*` any run, `?` one character); `*` alone is the default.
    public var pattern: String
    /// Presence kept for the room.
    public var presence: PresenceMode = .off
    /// Members get `_presence` diffs when a user's first connection joins or last one leaves.
    public var joinLeave: Bool = false
    /// Diffs are coalesced per room over this interval.
    public var presenceInterval: Duration = .milliseconds(500)
    /// Most connections in the room; a join beyond it gets `room_full`.
    public var maxMembers: Int?
    /// Frames the room keeps; nil = no history (and no offsets).
    public var history: HistorySettings?
    /// Whether `_join` with `since` may recover missed frames.
    public var recovery: Bool = false
    /// The largest gap recovered; a larger one answers `recovered: false`.
    public var recoveryMax: Int = 300
    /// A template over the join message giving a member's `info` in presence (`full` only).
    public var presenceInfo: Located<JSONValue>?
    /// Where the rule is written.
    public var location: SourceLocation

    /// A rule for `pattern` with everything off.
    public init(pattern: String, location: SourceLocation) {
        self.pattern = pattern
        self.location = location
    }

    public static func == (lhs: RoomRule, rhs: RoomRule) -> Bool {
        lhs.pattern == rhs.pattern && lhs.presence == rhs.presence && lhs.joinLeave == rhs.joinLeave
            && lhs.presenceInterval == rhs.presenceInterval && lhs.maxMembers == rhs.maxMembers && lhs.history == rhs.history
            && lhs.recovery == rhs.recovery && lhs.recoveryMax == rhs.recoveryMax
            && lhs.presenceInfo?.value == rhs.presenceInfo?.value
    }

    /// How specific the pattern is: a name without wildcards beats any glob, then more literal characters
    /// win, then fewer `*`.
    var specificity: (exact: Bool, literals: Int, stars: Int) {
        let stars = pattern.count { $0 == "*" }
        let wildcards = stars + pattern.count { $0 == "?" }
        return (wildcards == 0, pattern.count - wildcards, -stars)
    }
}

/// The `rooms:` rules, ready to answer which rule a room follows.
public struct RoomRules: Sendable, Equatable {
    /// The rules, most specific first (ties keep file order).
    public let rules: [RoomRule]
    private let globs: [Glob]

    /// Rules in any order.
    public init(_ rules: [RoomRule]) {
        self.rules = rules.enumerated().sorted { a, b in
            let (x, y) = (a.element.specificity, b.element.specificity)
            if x.exact != y.exact { return x.exact }
            if x.literals != y.literals { return x.literals > y.literals }
            if x.stars != y.stars { return x.stars > y.stars }
            return a.offset < b.offset
        }.map(\.element)
        globs = self.rules.map { Glob($0.pattern) }
    }

    /// No rules: every room has everything off.
    public static let none = RoomRules([])

    /// The most specific rule matching `room`, or nil (everything off).
    public func rule(for room: String) -> RoomRule? {
        for (index, glob) in globs.enumerated() where glob.matches(room) { return rules[index] }
        return nil
    }

    public static func == (lhs: RoomRules, rhs: RoomRules) -> Bool { lhs.rules == rhs.rules }
}
