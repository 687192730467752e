/// Keeps a connection's pipelines in order: while one is pending (``Connection/isBusy``), later messages
/// wait here, bounded in count (``capacity``) and in bytes (`connections.max_inbox_bytes`). Also holds the
/// connection's rate limiter. Made on first use.
///
/// Touched only on the connection's executor.
final class ConnectionInbox: @unchecked Sendable {
    /// Most messages that may wait behind a pending pipeline; more get a `busy` error.
    static let capacity = 256

    /// The connection's rate limiter, made on its first message when a limit is configured.
    var rateLimiter: RateLimiter?
    /// The limit ``rateLimiter`` was made for (a reload may change it).
    var rateLimit: RateLimitSettings?
    private var waiting: [[UInt8]] = []
    private var head = 0
    /// Bytes of the messages waiting.
    private(set) var waitingBytes = 0

    /// Queues a message; false if the inbox is full (by count, or by bytes past `maxBytes`).
    func enqueue(_ bytes: [UInt8], maxBytes: Int) -> Bool {
        guard waiting.count - head < Self.capacity, waitingBytes + bytes.count <= maxBytes else { return false }
        waiting.append(bytes)
        waitingBytes += bytes.count
        return true
    }

    /// The next waiting message, if any.
    func dequeue() -> [UInt8]? {
        guard head < waiting.count else { return nil }
        let next = waiting[head]
        head += 1
        waitingBytes -= next.count
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        return next
    }

    /// Drops every waiting message (the connection closed).
    func removeAll() {
        waiting = []
        head = 0
        waitingBytes = 0
    }
}
