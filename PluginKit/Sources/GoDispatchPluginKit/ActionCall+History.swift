import CGoDispatchABI

// 1.2: history — the host functions of rooms that keep history (`rooms:` rules with `history:`).
extension ActionCall {
    /// Whether the host has the 1.2 history functions (`join_since`, `send_history`).
    public var hostHasHistory: Bool {
        let end = MemoryLayout<gd_host_api>.offset(of: \.send_history)! + MemoryLayout<Int>.size
        return Int(host.pointee.size) >= end
    }

    /// Joins the sending connection to `room`; in a room with history it also gets `_joined`, with
    /// the frames after `sinceJSON` (`{"offset":n,"epoch":"e"}`, empty = none) when they can all be
    /// recovered. Falls back to a plain join on a host older than 1.2. Returns the host's status.
    public func joinSince(room: gd_str, sinceJSON: String) -> Int32 {
        guard hostHasHistory else { return host.pointee.join(raw, room) }
        return withGDString(sinceJSON) { host.pointee.join_since(raw, room, $0) }
    }

    /// Sends the sending connection `_history` with `room`'s newest `limit` frames (nil: all held).
    /// Returns how many frames, or a negative status (GD_ERR_NOT_FOUND: the room keeps no history;
    /// GD_ERR_FAILED: the host is older than 1.2).
    public func sendHistory(room: gd_str, limit: Int?) -> Int64 {
        guard hostHasHistory else { return Int64(GD_ERR_FAILED.rawValue) }
        return host.pointee.send_history(raw, room, Int64(limit ?? -1))
    }
}
