import NIOCore

/// Coalesces flushes on one event loop: a write marks its channel dirty, and every dirty channel is
/// flushed once at the end of the loop's current tick, so a burst of deliveries to one client costs
/// one system call, not one per message.
///
/// It also keeps one spare buffer for gathering frames: a connection that gets two or more frames in a
/// tick gathers them in it, and once they are written out in full the buffer comes back here for the next
/// connection, so coalescing allocates nothing per connection per tick.
///
/// Its state is bound to its event loop (`NIOLoopBoundBox`).
final class FlushBatcher: Sendable {
    private struct State {
        var dirty: [ChannelTransport] = []
        var scheduled = false
        var spare: ByteBuffer?
    }

    /// Spare buffers larger than this are let go rather than kept.
    static let largestSpare = 64 * 1024

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

    /// An empty buffer of at least `capacity` bytes: the spare one if there is one (on the loop).
    func gatheringBuffer(capacity: Int) -> ByteBuffer {
        guard var buffer = state.value.spare else { return ChannelTransport.allocator.buffer(capacity: capacity) }
        state.value.spare = nil
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Takes back a gathering buffer whose bytes are all written (on the loop).
    func recycle(_ buffer: ByteBuffer) {
        guard state.value.spare == nil, buffer.capacity <= Self.largestSpare else { return }
        state.value.spare = buffer
    }

    private func flushAll() {
        state.value.scheduled = false
        let batch = state.value.dirty
        state.value.dirty.removeAll(keepingCapacity: true)
        for transport in batch { transport.flushNow() }
    }
}
