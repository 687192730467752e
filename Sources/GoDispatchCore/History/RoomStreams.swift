import Atomics

/// The streams of the rooms that keep history (`rooms:` rules with `history:`), by room name.
///
/// Which rule a room follows is found by glob once per room and cached until the rules change (a
/// reload), so a publish never matches globs. A configuration without any `history:` rule costs one
/// relaxed atomic load per publish and nothing else. Streams of rooms without members that hold no
/// frame and saw none within `ttl` are dropped (retired) as the cache grows (a later publish starts a
/// new epoch). Callers loop: `while let stream = stream(for:)`, until an operation on it succeeds.
public final class RoomStreams: @unchecked Sendable {
    /// Whether any rule keeps history: the only thing a publish reads when none does.
    private let anyHistory = ManagedAtomic<Bool>(false)
    private let lock = ReadWriteLock()
    /// Guarded by `lock`: the rules, and per room its stream or nil (cached: no history).
    private var rules = RoomRules.none
    private var entries: [String: RoomStream?] = [:]
    /// Entries beyond which the next miss sweeps idle streams and cached misses.
    private var sweepAt = 1024
    private let state: any StateManager
    private let clock: @Sendable () -> ContinuousClock.Instant

    /// Streams over `state`'s rooms, timed by `clock`, with no rules yet.
    init(state: any StateManager, clock: @escaping @Sendable () -> ContinuousClock.Instant) {
        self.state = state
        self.clock = clock
    }

    /// The stream of `room`, created on first use; nil when the room keeps no history.
    public func stream(for room: String) -> RoomStream? {
        guard anyHistory.load(ordering: .relaxed) else { return nil }
        if let cached = lock.withReadLock({ entries[room] }) { return cached }
        return lock.withWriteLock {
            if let cached = entries[room] { return cached }
            if entries.count >= sweepAt { sweepLocked() }
            let stream = rules.rule(for: room).flatMap { rule in
                rule.history == nil ? nil : RoomStream(room: room, rule: rule, now: clock())
            }
            entries[room] = .some(stream)
            return stream
        }
    }

    /// Follows new rules (at start-up and on reload): cached lookups are forgotten; streams whose room
    /// still keeps history keep their epoch and offset under the new rule, the others are dropped.
    public func apply(_ newRules: RoomRules) {
        let now = clock()
        lock.withWriteLock {
            rules = newRules
            var kept: [String: RoomStream?] = [:]
            for case (let room, let stream?) in entries {
                guard let rule = newRules.rule(for: room), rule.history != nil else { continue }
                stream.update(rule: rule, now: now)
                kept[room] = .some(stream)
            }
            entries = kept
            anyHistory.store(newRules.rules.contains { $0.history != nil }, ordering: .relaxed)
        }
    }

    /// How many streams exist now (tests and administration).
    public var streamCount: Int { lock.withReadLock { entries.values.count { $0 != nil } } }

    /// Drops cached misses and idle streams of empty rooms; the caller holds the write lock.
    private func sweepLocked() {
        let now = clock()
        entries = entries.filter { room, stream in
            guard let stream else { return false }
            return !stream.retireIfIdle(now: now) { !state.members(ofRoom: room).isEmpty }
        }
        sweepAt = max(1024, entries.count * 2)
    }
}
