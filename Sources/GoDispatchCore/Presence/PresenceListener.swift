/// Told by the state core when a room's presence changed (a user's first connection joined or last one
/// left), after the state core released its locks.
public protocol PresenceListener: Sendable {
    /// `room` follows `rule` (cached when the room was created); `executor` is the executor of the
    /// connection whose join, leave or disconnect caused the change, for scheduling later work.
    func presenceChanged(
        _ change: PresenceChange, room: String, rule: RoomRule, executor: any ConnectionExecutor, state: any StateManager)
}
