import GoDispatchCore

/// Results of publishes made with an `idempotency_key`, per room, for 5 minutes: a retry with the same
/// key for the same room returns the first result and sends nothing. Bounded: when full, the oldest
/// entries go first.
final class IdempotencyCache: Sendable {
    private struct Entry {
        let result: [UInt8]
        let expires: ContinuousClock.Instant
    }

    private struct Store {
        var entries: [String: Entry] = [:]
        /// Keys in insertion order, for expiry and eviction.
        var order: [(key: String, expires: ContinuousClock.Instant)] = []
        var head = 0
    }

    /// How long a result is kept.
    let window: Duration
    /// Most results kept.
    let capacity: Int
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let store = Locked(Store())

    /// A cache keeping results for `window`, at most `capacity` of them.
    init(window: Duration = .seconds(300), capacity: Int = 100_000, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.window = window
        self.capacity = capacity
        self.clock = clock
    }

    private static func key(room: String, idempotencyKey: String) -> String { "\(room)\u{0}\(idempotencyKey)" }

    /// The result of an earlier publish with this key to this room, if within the window; otherwise runs
    /// `publish` (under the cache's lock, so two concurrent retries send once) and remembers its result.
    func result(room: String, idempotencyKey: String, publish: () -> [UInt8]) -> (result: [UInt8], repeated: Bool) {
        let key = Self.key(room: room, idempotencyKey: idempotencyKey)
        let now = clock()
        return store.withLock { store in
            Self.expire(&store, now: now, capacity: capacity)
            if let entry = store.entries[key], entry.expires > now { return (entry.result, true) }
            let result = publish()
            let expires = now + window
            store.entries[key] = Entry(result: result, expires: expires)
            store.order.append((key, expires))
            return (result, false)
        }
    }

    /// Forgets the result of a publish that failed after all (the broker could not reach the other
    /// nodes), so a retry with the same key sends again.
    func forget(room: String, idempotencyKey: String) {
        let key = Self.key(room: room, idempotencyKey: idempotencyKey)
        store.withLock { _ = $0.entries.removeValue(forKey: key) }
    }

    /// How many results are kept now.
    var count: Int { store.withLock { $0.entries.count } }

    private static func expire(_ store: inout Store, now: ContinuousClock.Instant, capacity: Int) {
        while store.head < store.order.count {
            let oldest = store.order[store.head]
            guard oldest.expires <= now || store.entries.count >= capacity else { break }
            if store.entries[oldest.key]?.expires == oldest.expires { store.entries.removeValue(forKey: oldest.key) }
            store.head += 1
        }
        if store.head > 1024, store.head * 2 > store.order.count {
            store.order.removeFirst(store.head)
            store.head = 0
        }
    }
}
