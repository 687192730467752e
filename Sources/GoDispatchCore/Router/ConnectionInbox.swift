/// Keeps a connection's pipelines in order: while one is pending, later messages wait here.
///
/// Touched only on the connection's executor.
final class ConnectionInbox: @unchecked Sendable {
    /// Most messages that may wait behind a pending pipeline; more get a `busy` error.
    static let capacity = 256

    var isRunning = false
    /// The connection's rate limiter, made on its first message when a limit is configured.
    var rateLimiter: RateLimiter?
    private var waiting: [[UInt8]] = []
    private var head = 0

    /// Queues a message; false if the inbox is full.
    func enqueue(_ bytes: [UInt8]) -> Bool {
        guard waiting.count - head < Self.capacity else { return false }
        waiting.append(bytes)
        return true
    }

    /// The next waiting message, if any.
    func dequeue() -> [UInt8]? {
        guard head < waiting.count else { return nil }
        let next = waiting[head]
        head += 1
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        return next
    }
}
