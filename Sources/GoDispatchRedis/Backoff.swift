/// When to try again after failed connection attempts: exponential backoff with full jitter.
///
/// Attempt `n` (0-based) waits a uniformly random time in `0...min(cap, initial · 2ⁿ)`, so many nodes that
/// lost the same Redis at once do not reconnect in lockstep (AWS Architecture Blog, "Exponential Backoff
/// And Jitter").
public struct Backoff: Sendable, Hashable {
    /// The ceiling of the first delay.
    public var initial: Duration
    /// The largest ceiling any delay reaches.
    public var cap: Duration

    /// A policy; the default grows 50 ms → 5 s.
    public init(initial: Duration = .milliseconds(50), cap: Duration = .seconds(5)) {
        self.initial = initial
        self.cap = cap
    }

    /// The ceiling of attempt `attempt`'s delay: `min(cap, initial · 2^attempt)`.
    public func ceiling(attempt: Int) -> Duration {
        let shift = min(max(attempt, 0), 40)
        let initialNanos = initial.nanoseconds
        let capNanos = cap.nanoseconds
        let (grown, overflow) = initialNanos.multipliedReportingOverflow(by: Int64(1) << shift)
        return .nanoseconds(overflow ? capNanos : min(grown, capNanos))
    }

    /// The delay before attempt `attempt`: uniformly random in `0...ceiling(attempt:)`.
    public func delay(attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        .nanoseconds(Int64.random(in: 0...max(ceiling(attempt: attempt).nanoseconds, 0), using: &random))
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : scaled &+ attoseconds / 1_000_000_000
    }
}
