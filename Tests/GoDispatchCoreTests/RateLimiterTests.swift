import Testing

@testable import GoDispatchCore

@Suite("Rate limiter (pure value, clock injected)")
struct RateLimiterTests {
    @Test func allowsABurstThenRefillsAtTheRate() {
        var limiter = RateLimiter(messages: 2, per: .seconds(1), burst: 3, refusalsBeforeDisconnect: 3)
        let start = ContinuousClock.now
        #expect((0..<3).map { _ in limiter.admit(at: start) } == [.allow, .allow, .allow])
        #expect(limiter.admit(at: start) == .refuse)
        // Half a second later, one token (2 per second) has come back.
        #expect(limiter.admit(at: start + .milliseconds(500)) == .allow)
        #expect(limiter.admit(at: start + .milliseconds(500)) == .refuse)
        #expect(limiter.admit(at: start + .milliseconds(500)) == .refuse)
        #expect(limiter.admit(at: start + .milliseconds(500)) == .disconnect, "the third refusal in a row")
    }

    @Test func aQuietSpellResetsTheRefusalCount() {
        var limiter = RateLimiter(messages: 1, per: .seconds(1), burst: 1, refusalsBeforeDisconnect: 2)
        let start = ContinuousClock.now
        #expect(limiter.admit(at: start) == .allow)
        #expect(limiter.admit(at: start) == .refuse)
        #expect(limiter.admit(at: start + .seconds(2)) == .allow)
        #expect(limiter.admit(at: start + .seconds(2)) == .refuse)
        // Never more than the burst, however long the quiet spell.
        #expect(limiter.admit(at: start + .seconds(100)) == .allow)
        #expect(limiter.admit(at: start + .seconds(100)) == .refuse)
    }
}
