/// The joins and leaves of one room since its last `_presence` frame, netted: a user who joins and leaves
/// within one interval appears in neither (and one who leaves and comes back, in neither too).
public struct PresenceDiff: Sendable, Equatable {
    /// Users who joined, with their info, in arrival order.
    public private(set) var joins: [(user: String, info: [UInt8]?)] = []
    /// Users who left, with the info they were listed with, in arrival order.
    public private(set) var leaves: [(user: String, info: [UInt8]?)] = []

    /// An empty diff.
    public init() {}

    /// True when there is nothing to tell members.
    public var isEmpty: Bool { joins.isEmpty && leaves.isEmpty }

    /// Records a change, cancelling the opposite one of the same user.
    public mutating func record(_ change: PresenceChange) {
        switch change {
        case .joined(let user, let info):
            if let index = leaves.firstIndex(where: { $0.user == user }) {
                leaves.remove(at: index)
            } else {
                joins.append((user, info))
            }
        case .left(let user, let info):
            if let index = joins.firstIndex(where: { $0.user == user }) {
                joins.remove(at: index)
            } else {
                leaves.append((user, info))
            }
        }
    }

    /// The `_presence` payload: `{"joins":{"<id>":{"info":…}},"leaves":{"<id>":{"info":…}}}`.
    public var payloadJSON: [UInt8] {
        var writer = JSONWriter()
        writer.writeASCII("{\"joins\":")
        Self.write(joins, to: &writer)
        writer.writeASCII(",\"leaves\":")
        Self.write(leaves, to: &writer)
        writer.writeASCII("}")
        return writer.bytes
    }

    private static func write(_ users: [(user: String, info: [UInt8]?)], to writer: inout JSONWriter) {
        writer.writeASCII("{")
        for (index, entry) in users.enumerated() {
            if index > 0 { writer.writeASCII(",") }
            writer.writeString(entry.user)
            writer.writeASCII(":{\"info\":")
            writer.writeRaw(entry.info ?? Array("null".utf8))
            writer.writeASCII("}")
        }
        writer.writeASCII("}")
    }

    public static func == (lhs: PresenceDiff, rhs: PresenceDiff) -> Bool {
        lhs.joins.map(\.user) == rhs.joins.map(\.user) && lhs.leaves.map(\.user) == rhs.leaves.map(\.user)
            && lhs.joins.map(\.info) == rhs.joins.map(\.info) && lhs.leaves.map(\.info) == rhs.leaves.map(\.info)
    }
}
