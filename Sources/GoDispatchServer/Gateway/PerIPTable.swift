import GoDispatchCore

/// The counts behind `connections.per_ip`, per client address: open connections and a token bucket of
/// new upgrade attempts. A value with the clock passed in, tested without sockets.
///
/// Memory stays bounded by the addresses in use: an entry with no open connection and a full bucket is no
/// different from no entry, so it is dropped — at its last release, or by ``prune(at:)``, which
/// ``admit(_:at:)`` runs at most once per bucket refill time. What remains is the addresses with open
/// connections plus those that tried within the last refill time.
struct PerIPTable {
    /// What to do with one upgrade attempt.
    enum Decision: Equatable {
        /// Admitted: the address's open count went up by one (give it back with ``PerIPTable/release(_:at:)``).
        case admit
        /// The address already holds `max` open connections.
        case tooManyOpen
        /// The address tries faster than `rate` allows.
        case tooFast
    }

    /// One address's counts.
    struct Entry {
        /// Connections admitted and not released.
        var open = 0
        /// Its attempts, when a rate is set.
        var bucket: RateLimiter?
    }

    /// Most open connections per address; nil = no cap.
    let max: Int?
    /// New attempts per address; nil = no rate.
    let rate: ConnectionRateSettings?
    /// The addresses with something to remember.
    private(set) var entries: [IPAddress: Entry] = [:]
    /// The last full sweep of idle entries.
    private var lastPrune: ContinuousClock.Instant?
    /// How long an empty bucket takes to fill (at least a second): the pace of ``prune(at:)``.
    private let pruneInterval: Duration

    /// A table for `max` open connections and `rate` attempts per address.
    init(max: Int?, rate: ConnectionRateSettings?) {
        self.max = max
        self.rate = rate
        let refill = rate.map { $0.per * (Double($0.burst) / Double($0.connections)) } ?? .zero
        pruneInterval = Swift.max(refill, .seconds(1))
    }

    /// Decides one upgrade attempt from `address`. An attempt spends a token even when `max` then refuses
    /// it: the rate counts attempts, not admissions.
    mutating func admit(_ address: IPAddress, at now: ContinuousClock.Instant) -> Decision {
        pruneIfDue(at: now)
        var entry = entries[address] ?? Entry(bucket: rate.map(Self.bucket))
        defer { entries[address] = entry }
        if var bucket = entry.bucket {
            let decision = bucket.admit(at: now)
            entry.bucket = bucket
            guard decision == .allow else { return .tooFast }
        }
        if let max, entry.open >= max { return .tooManyOpen }
        entry.open += 1
        return .admit
    }

    /// A connection admitted for `address` has closed (or was refused later on).
    mutating func release(_ address: IPAddress, at now: ContinuousClock.Instant) {
        guard var entry = entries[address], entry.open > 0 else { return }
        entry.open -= 1
        entries[address] = Self.isIdle(entry, at: now) ? nil : entry
    }

    /// Drops every entry with no open connection and a full bucket.
    mutating func prune(at now: ContinuousClock.Instant) {
        entries = entries.filter { !Self.isIdle($0.value, at: now) }
        lastPrune = now
    }

    private mutating func pruneIfDue(at now: ContinuousClock.Instant) {
        guard let lastPrune else {
            self.lastPrune = now
            return
        }
        if now - lastPrune >= pruneInterval { prune(at: now) }
    }

    private static func isIdle(_ entry: Entry, at now: ContinuousClock.Instant) -> Bool {
        entry.open == 0 && (entry.bucket?.isFull(at: now) ?? true)
    }

    private static func bucket(_ rate: ConnectionRateSettings) -> RateLimiter {
        RateLimiter(messages: rate.connections, per: rate.per, burst: rate.burst, refusalsBeforeDisconnect: .max)
    }
}
