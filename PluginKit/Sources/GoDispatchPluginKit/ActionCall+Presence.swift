import CGoDispatchABI

/// A room's presence counts (ABI 1.2).
public struct PresenceCounts: Sendable, Equatable {
    /// Users in the room (a user with several connections counts once).
    public var users: UInt64
    /// Connections in the room.
    public var connections: UInt64
}

extension ActionCall {
    /// True if the host has the 1.2 presence functions.
    public var hostHasPresence: Bool {
        Int(host.pointee.size) >= MemoryLayout<gd_host_api>.offset(of: \gd_host_api.presence_count)! + MemoryLayout<UInt>.size
    }

    /// The room's presence as JSON text, borrowed from the host until `invoke` returns (`{"count",
    /// "users"}` for `presence: full`, `{"count","connections"}` for `stats`). `.notFound` status when the
    /// room keeps no presence; `.failed` on a host older than 1.2.
    public func presence(room: gd_str) -> Result<gd_str, ActionError> {
        guard hostHasPresence else { return .failure(.failed("the host is older than ABI 1.2 (no presence)")) }
        var out = gd_str.empty
        let status = host.pointee.presence(raw, room, &out)
        guard status == GD_OK.rawValue else { return .failure(ActionError(status: status, message: "no presence")) }
        return .success(out)
    }

    /// The room's presence counts; `.notFound` status when the room keeps no presence.
    public func presenceCounts(room: gd_str) -> Result<PresenceCounts, ActionError> {
        guard hostHasPresence else { return .failure(.failed("the host is older than ABI 1.2 (no presence)")) }
        var counts = PresenceCounts(users: 0, connections: 0)
        let status = host.pointee.presence_count(raw, room, &counts.users, &counts.connections)
        guard status == GD_OK.rawValue else { return .failure(ActionError(status: status, message: "no presence")) }
        return .success(counts)
    }
}
