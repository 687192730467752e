/// A token bucket for one connection's messages: `rate` messages per `period`, bursts up to `burst`.
///
/// A value type with the clock passed in, so it is tested as a pure value.
public struct RateLimiter: Sendable {
    /// What to do with one message.
    public enum Decision: Sendable, Equatable {
        /// Within the limit.
        case allow
        /// Over the limit: refuse this message (error frame `rate_limited`).
        case refuse
        /// Persistently over the limit: close the connection (1008).
        case disconnect
    }

    private let tokensPerNanosecond: Double
    private let burst: Double
    /// How many refusals in a row mean "persistent".
    private let refusalsBeforeDisconnect: Int
    private var tokens: Double
    private var last: ContinuousClock.Instant?
    private var refusalsInARow = 0

    /// `messages` per `period`, bursts up to `burst`; `refusalsBeforeDisconnect` refusals in a row close.
    public init(messages: Int, per period: Duration, burst: Int, refusalsBeforeDisconnect: Int = 20) {
        let nanoseconds = Double(period.components.seconds) * 1e9 + Double(period.components.attoseconds) / 1e9
        tokensPerNanosecond = Double(messages) / max(nanoseconds, 1)
        self.burst = Double(max(burst, 1))
        self.refusalsBeforeDisconnect = refusalsBeforeDisconnect
        tokens = self.burst
    }

    /// True if the bucket has grown back to full by `now`: the limiter is then no different from a fresh
    /// one, so a table of limiters may drop it.
    public func isFull(at now: ContinuousClock.Instant) -> Bool {
        guard let last else { return true }
        let elapsed = now - last
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return tokens + nanoseconds * tokensPerNanosecond >= burst
    }

    /// Spends one token if there is one.
    public mutating func admit(at now: ContinuousClock.Instant) -> Decision {
        if let last {
            let elapsed = now - last
            let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            tokens = min(burst, tokens + nanoseconds * tokensPerNanosecond)
        }
        last = now
        if tokens >= 1 {
            tokens -= 1
            refusalsInARow = 0
            return .allow
        }
        refusalsInARow += 1
        return refusalsInARow >= refusalsBeforeDisconnect ? .disconnect : .refuse
    }
}
