import Synchronization

/// One event loop's traffic counters. Only its loop writes them — a relaxed load and store, no locked
/// instruction, no cache line shared with another loop — and ``GoDispatchMetrics`` sums every loop's
/// when it is scraped. Counts what crosses the WebSocket: message frames queued for clients (control
/// frames are not counted) and the bytes read from clients (framing included).
final class LoopMetrics: Sendable {
    /// Keeps the counters off the cache lines of neighbouring heap objects.
    private let padBefore: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    private let framesSentCount = Atomic<Int>(0)
    private let bytesSentCount = Atomic<Int>(0)
    private let bytesReceivedCount = Atomic<Int>(0)
    private let padAfter: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Counters every loop shares (rare events: errors, disconnects).
    let shared: GoDispatchMetrics

    init(shared: GoDispatchMetrics) { self.shared = shared }

    /// One frame of `bytes` bytes queued for a client (on the loop).
    @inline(__always)
    func frameSent(bytes: Int) {
        framesSentCount.store(framesSentCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        bytesSentCount.store(bytesSentCount.load(ordering: .relaxed) &+ bytes, ordering: .relaxed)
    }

    /// `bytes` bytes read from a client (on the loop).
    @inline(__always)
    func received(bytes: Int) {
        bytesReceivedCount.store(bytesReceivedCount.load(ordering: .relaxed) &+ bytes, ordering: .relaxed)
    }

    /// Frames queued since start (from any thread).
    var framesSent: Int { framesSentCount.load(ordering: .relaxed) }
    /// Bytes queued since start (from any thread).
    var bytesSent: Int { bytesSentCount.load(ordering: .relaxed) }
    /// Bytes read since start (from any thread).
    var bytesReceived: Int { bytesReceivedCount.load(ordering: .relaxed) }
}
