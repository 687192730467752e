import NIOCore

/// Coalesces flushes on one event loop: a write marks its channel dirty, and every dirty channel is
/// flushed once at the end of the loop's current tick, so a burst of deliveries to one client costs
/// one system call, not one per message.
///
/// Confined to its event loop.
final class FlushBatcher: @unchecked Sendable {
    let eventLoop: any EventLoop
    private var dirty: [ChannelTransport] = []
    private var scheduled = false

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// Queues a flush of `transport`'s channel for the end of this tick.
    func markDirty(_ transport: ChannelTransport) {
        eventLoop.assertInEventLoop()
        dirty.append(transport)
        guard !scheduled else { return }
        scheduled = true
        eventLoop.execute { self.flushAll() }
    }

    private func flushAll() {
        scheduled = false
        let batch = dirty
        dirty.removeAll(keepingCapacity: true)
        for transport in batch { transport.flushNow() }
    }
}
