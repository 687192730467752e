/// How a `RedisConnection` or `RedisSubscriber` connects, reconnects and decodes.
public struct RedisConnectionOptions: Sendable {
    /// Delays between reconnection attempts.
    public var backoff: Backoff
    /// How long one TCP connect may take before the attempt counts as failed.
    public var connectTimeout: Duration
    /// Limits on replies (bulk length, array length, nesting); one copy is made per connection.
    public var decoder: RESPDecoder

    /// Options; the defaults reconnect 50 ms → 5 s and give up a connect after 5 s.
    public init(
        backoff: Backoff = Backoff(), connectTimeout: Duration = .seconds(5), decoder: RESPDecoder = RESPDecoder()
    ) {
        self.backoff = backoff
        self.connectTimeout = connectTimeout
        self.decoder = decoder
    }
}
