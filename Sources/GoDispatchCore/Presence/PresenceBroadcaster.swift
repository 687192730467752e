/// Sends members `_presence` diffs for rooms with `join_leave: true`, coalesced per room over the rule's
/// `presence_interval`: the first change of an interval schedules a flush on the executor of the connection
/// that caused it, later changes only join the pending diff, and the flush sends one frame, built once, to
/// every member through the fan-out. A burst of 1,000 joins costs each member a few frames. Diffs are
/// at-most-once: a member who joins after a flush never sees the diffs before it.
public final class PresenceBroadcaster: PresenceListener {
    private let fanOut: any FrameFanOut
    private let pending = Locked<[String: PresenceDiff]>([:])

    /// Delivers through `fanOut`.
    public init(fanOut: any FrameFanOut) { self.fanOut = fanOut }

    public func presenceChanged(
        _ change: PresenceChange, room: String, rule: RoomRule, executor: any ConnectionExecutor, state: any StateManager
    ) {
        guard rule.joinLeave else { return }
        let first = pending.withLock { pending in
            let first = pending[room] == nil
            pending[room, default: PresenceDiff()].record(change)
            return first
        }
        guard first else { return }
        _ = executor.schedule(after: rule.presenceInterval) { [self] in flush(room: room, state: state) }
    }

    /// Sends the room's pending diff, if anything is left of it after netting.
    func flush(room: String, state: any StateManager) {
        guard let diff = pending.withLock({ $0.removeValue(forKey: room) }), !diff.isEmpty else { return }
        let members = state.members(ofRoom: room).filter { !$0.isClosed }
        guard !members.isEmpty else { return }
        let frame = diff.payloadJSON.withUnsafeBytes { payload in
            Array("_presence".utf8).withUnsafeBytes { event in
                Array(room.utf8).withUnsafeBytes { target in
                    FrameEncoder.message(event: event, target: target, payloadJSON: payload, from: nil)
                }
            }
        }
        fanOut.deliver(frame, to: members)
    }

    /// Rooms with a flush scheduled (tests).
    var pendingRooms: Int { pending.withLock { $0.count } }
}
