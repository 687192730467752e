import Atomics

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The streams of the rooms that keep history (`rooms:` rules with `history:`), by room name.
///
/// Which rule a room follows is found by glob once per room and cached until the rules change (a
/// reload), so a publish never matches globs. A configuration without any `history:` rule costs one
/// relaxed atomic load per publish and nothing else; with some, a publish finds its room's answer in
/// its own thread's cache (no lock, no allocation), and only a thread's first look-up of a room (or
/// the first after a reload or a sweep) takes the registry's lock. Streams of rooms without members
/// that hold no frame and saw none within `ttl` are dropped (retired) as the cache grows (a later
/// publish starts a new epoch). Callers loop: `while let stream = stream(for:)`, until an operation on
/// it succeeds.
public final class RoomStreams: @unchecked Sendable {
    /// Whether any rule keeps history: the only thing a publish reads when none does.
    private let anyHistory = ManagedAtomic<Bool>(false)
    /// Bumped (under the write lock) whenever a cached answer may have become wrong: new rules, a sweep.
    private let generation = ManagedAtomic<Int>(0)
    /// Tells this registry's entries in a thread's cache from another registry's (tests run several).
    private let id = RoomStreams.nextID.loadThenWrappingIncrement(ordering: .relaxed)
    private static let nextID = ManagedAtomic<Int>(1)
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
        let cache = LookupCache.current
        let generation = generation.load(ordering: .acquiring)
        if cache.owner == id, cache.generation == generation {
            if let cached = cache.entries[room] { return cached }
        } else {
            cache.reset(owner: id, generation: generation)
        }
        if cache.entries.count >= LookupCache.capacity { cache.reset(owner: id, generation: generation) }
        let found = registered(room)
        cache.entries[room] = .some(found)
        return found
    }

    /// The registry's answer for `room` (creating its stream when its rule keeps history).
    private func registered(_ room: String) -> RoomStream? {
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
            // Before any stream retires (see `sweepLocked`).
            generation.wrappingIncrement(ordering: .releasing)
            rules = newRules
            var kept: [String: RoomStream?] = [:]
            for case (let room, let stream?) in entries {
                guard let rule = newRules.rule(for: room), rule.history != nil else {
                    stream.retire()
                    continue
                }
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
        // Before any stream retires: a caller that finds one retired then sees the new generation too,
        // and looks the room up here again instead of in its thread's cache.
        generation.wrappingIncrement(ordering: .releasing)
        let now = clock()
        entries = entries.filter { room, stream in
            guard let stream else { return false }
            return !stream.retireIfIdle(now: now) { !state.members(ofRoom: room).isEmpty }
        }
        sweepAt = max(1024, entries.count * 2)
    }
}

/// One thread's cached answers of ``RoomStreams/stream(for:)``, valid for one registry and generation.
private final class LookupCache {
    /// Most rooms a thread remembers; past it the cache starts over.
    static let capacity = 4096

    var owner = 0
    var generation = -1
    var entries: [String: RoomStream?] = [:]

    func reset(owner: Int, generation: Int) {
        self.owner = owner
        self.generation = generation
        entries.removeAll(keepingCapacity: entries.count <= Self.capacity)
    }

    /// The key of the per-thread cache; its destructor releases a thread's cache when the thread ends.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let created = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<LookupCache>.fromOpaque(pointer).release()
        }
        precondition(created == 0, "pthread_key_create failed")
        return key
    }()

    /// This thread's cache.
    static var current: LookupCache {
        if let pointer = pthread_getspecific(key) { return Unmanaged<LookupCache>.fromOpaque(pointer).takeUnretainedValue() }
        let cache = LookupCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }
}
