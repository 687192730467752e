import NIOCore

/// Coalesces flushes on one event loop: a write marks its channel dirty, and every dirty channel is
/// flushed once at the end of the loop's current tick, so a burst of deliveries to one client costs
/// one system call, not one per message.
///
/// Its state is bound to its event loop (`NIOLoopBoundBox`).
final class FlushBatcher: Sendable {
    private struct State {
        var dirty: [ChannelTransport] = []
        var scheduled = false
    }

    let eventLoop: any EventLoop
    private let state: NIOLoopBoundBox<State>

    /// A batcher for `eventLoop` (made off the loop, used only on it).
    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    /// Queues a flush of `transport`'s channel for the end of this tick.
    func markDirty(_ transport: ChannelTransport) {
        state.value.dirty.append(transport)
        guard !state.value.scheduled else { return }
        state.value.scheduled = true
        eventLoop.execute { self.flushAll() }
    }

    private func flushAll() {
        state.value.scheduled = false
        let batch = state.value.dirty
        state.value.dirty.removeAll(keepingCapacity: true)
        for transport in batch { transport.flushNow() }
    }
}
