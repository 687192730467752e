/// One room's stream: its epoch, the offset of its newest frame, and the frames it still holds
/// (trimmed by the rule's `history.size` and `history.ttl`).
///
/// Every change goes through one lock per room: a publish (number, append, snapshot the members and
/// fan out) and a join with history (add the member, read the history, enqueue `_joined`) never
/// interleave, so a frame published while a join is served is either in `_joined`'s publications or
/// delivered live after it, never both and never neither.
///
/// A stream dropped from ``RoomStreams`` is retired under its lock: every locked operation then
/// answers nil, and the caller looks the room up again (finding its new stream), so nothing is ever
/// published into, or joined through, a stream nobody can see any more.
public final class RoomStream: Sendable {
    /// What the lock guards.
    struct State {
        /// The rule the room follows now (its `history` is set).
        var rule: RoomRule
        /// The offset of the newest frame.
        var top: UInt64 = 0
        /// Held frames, oldest first, from `head` on (`head` avoids shifting on every trim).
        var frames: [StoredPublication] = []
        var head = 0
        /// When the last frame was published (or the stream was created).
        var lastActivity: ContinuousClock.Instant
        /// Dropped from the registry: every operation refuses (answers nil).
        var retired = false
    }

    /// The room's name.
    public let room: String
    /// This incarnation's epoch.
    public let epoch: String
    private let state: Locked<State>

    /// A new stream (a new random epoch) following `rule`, which must keep history.
    init(room: String, rule: RoomRule, now: ContinuousClock.Instant, epoch: String = StreamPosition.makeEpoch()) {
        self.room = room
        self.epoch = epoch
        state = Locked(State(rule: rule, lastActivity: now))
    }

    /// Numbers `frame`, appends it and hands the numbered frame to `deliver` (which fans it out and
    /// returns how many received it), all under the stream's lock; returns the frame's position, or nil
    /// (nothing done) once the stream is retired.
    func publish(_ frame: OutboundFrame, now: ContinuousClock.Instant, deliver: (OutboundFrame) -> Int)
        -> (position: StreamPosition, delivered: Int)?
    {
        state.withLock { state in
            guard !state.retired else { return nil }
            state.top += 1
            let numbered = Self.numbered(frame, offset: state.top, epoch: epoch)
            state.frames.append(StoredPublication(offset: state.top, publishedAt: now, frame: numbered))
            state.lastActivity = now
            state.trim(now: now)
            return (StreamPosition(offset: state.top, epoch: epoch), deliver(numbered))
        }
    }

    /// The rule the room follows now.
    var rule: RoomRule { state.withLock { $0.rule } }

    /// Runs `body` under the stream's lock with the history trimmed to `now`; nil (not run) once retired.
    func withHistory<R, Failure: Error>(now: ContinuousClock.Instant, _ body: (History) throws(Failure) -> R) throws(Failure) -> R? {
        try state.withLock { (state: inout State) throws(Failure) -> R? in
            guard !state.retired else { return nil }
            state.trim(now: now)
            return try body(History(state: state, epoch: epoch))
        }
    }

    /// Runs `body` (a membership change) under the stream's lock, so it never falls between a
    /// publish's member snapshot and the hand-over of its frame to the event loops. Nil (not run) once
    /// retired.
    func withMembershipLock<R>(_ body: () -> R) -> R? {
        state.withLock { state in state.retired ? nil : body() }
    }

    /// Forgets every held frame; the offset and epoch stay (the next frame continues the numbering).
    /// False (nothing done) once retired.
    func removeAll() -> Bool {
        state.withLock { state in
            guard !state.retired else { return false }
            state.frames = []
            state.head = 0
            return true
        }
    }

    /// Follows a new rule (after a reload), trimming to its size and ttl.
    func update(rule: RoomRule, now: ContinuousClock.Instant) {
        state.withLock { state in
            state.rule = rule
            state.trim(now: now)
        }
    }

    /// Retires the stream (its room no longer keeps history).
    func retire() {
        state.withLock { $0.retired = true }
    }

    /// Retires the stream if it holds no frame, nothing was published within `ttl` and the room has no
    /// members (`hasMembers` is asked under the lock, which joins take too); true if it did.
    func retireIfIdle(now: ContinuousClock.Instant, hasMembers: () -> Bool) -> Bool {
        state.withLock { state in
            if state.retired { return true }
            state.trim(now: now)
            guard state.head == state.frames.count, now - state.lastActivity >= state.rule.history!.ttl, !hasMembers() else {
                return false
            }
            state.retired = true
            return true
        }
    }

    /// `frame` with `,"offset":n,"epoch":"e"` before its closing brace.
    static func numbered(_ frame: OutboundFrame, offset: UInt64, epoch: String) -> OutboundFrame {
        var writer = JSONWriter(capacity: frame.bytes.count + 32 + epoch.utf8.count)
        writer.writeRaw(frame.bytes.dropLast())
        writer.writeASCII(",\"offset\":")
        writer.writeRaw(String(offset).utf8)
        writer.writeASCII(",\"epoch\":")
        writer.writeString(epoch)
        writer.writeASCII("}")
        return OutboundFrame(bytes: writer.bytes)
    }

    /// A read-only view of the stream, valid inside ``RoomStream/withHistory(now:_:)``.
    struct History {
        fileprivate let state: State
        /// The stream's epoch.
        let epoch: String

        /// The newest frame's position.
        var position: StreamPosition { StreamPosition(offset: state.top, epoch: epoch) }
        /// The rule the room follows.
        var rule: RoomRule { state.rule }
        /// Every held frame, oldest first.
        var held: ArraySlice<StoredPublication> { state.frames[state.head...] }

        /// The newest `limit` frames (all when `limit` is nil), oldest first.
        func last(_ limit: Int?) -> ArraySlice<StoredPublication> {
            guard let limit else { return held }
            return held.suffix(max(0, limit))
        }

        /// The frames after `since`, when they can all be given back: recovery on, same epoch, not
        /// ahead of the stream, no more than `recovery_max` of them, and none trimmed. Otherwise nil
        /// (recovery is all or nothing).
        func recover(since: StreamPosition) -> ArraySlice<StoredPublication>? {
            guard state.rule.recovery, since.epoch == epoch, since.offset <= state.top else { return nil }
            let missed = state.top - since.offset
            guard missed <= UInt64(max(0, state.rule.recoveryMax)) else { return nil }
            if missed == 0 { return [] }
            let held = self.held
            guard let oldest = held.first?.offset, oldest <= since.offset + 1 else { return nil }
            return held.suffix(Int(missed))
        }
    }
}

extension RoomStream.State {
    /// Drops frames beyond `history.size` and older than `history.ttl`.
    mutating func trim(now: ContinuousClock.Instant) {
        guard let history = rule.history else { return }
        let count = frames.count - head
        if count > history.size { head += count - max(0, history.size) }
        while head < frames.count, now - frames[head].publishedAt >= history.ttl { head += 1 }
        if head == frames.count {
            frames.removeAll(keepingCapacity: frames.count < 1024)
            head = 0
        } else if head >= 64, head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
    }
}

extension RoomRule {
    /// The frames after `since` a stream at `position` can give back, from `after` (the frames it holds
    /// after `since`, oldest first): recovery on, same epoch, not ahead of the stream, no more than
    /// `recovery_max` of them, and none trimmed. Otherwise nil (recovery is all or nothing).
    public func recoverable(since: StreamPosition, position: StreamPosition, after: ArraySlice<StoredPublication>)
        -> ArraySlice<StoredPublication>?
    {
        guard recovery, since.epoch == position.epoch, since.offset <= position.offset else { return nil }
        let missed = position.offset - since.offset
        guard missed <= UInt64(max(0, recoveryMax)) else { return nil }
        if missed == 0 { return [] }
        let kept = after.filter { $0.offset > since.offset && $0.offset <= position.offset }
        guard kept.count == Int(missed), kept.first?.offset == since.offset + 1 else { return nil }
        return ArraySlice(kept)
    }
}
