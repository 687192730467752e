import Foundation
import GoDispatchCore
import Logging
import NIOCore

/// The core's view of one WebSocket channel: send frames (from any thread), close with a code.
///
/// Frames arrive already encoded (``WireFrame``). Every frame a connection gets during one loop tick is
/// gathered into one buffer — the fan-out's shared buffer itself when there is just one — and written
/// once, through the ``WireWriter`` next to the socket, when the loop's ``FlushBatcher`` flushes at the
/// end of the tick. The outbound buffer is bounded by the channel's write-buffer watermark: a client
/// too slow to drain it is disconnected with close code 1008 instead of growing memory.
///
/// The close handshake and keepalive rules live in ``ConnectionLifecycle``; this class carries out the
/// actions it returns. Everything that changes lives in a `NIOLoopBoundBox`: touched only on the
/// channel's event loop (checked), so the class is `Sendable` without promises the compiler cannot see.
final class ChannelTransport: ConnectionTransport, Sendable {
    /// What only the channel's event loop touches.
    private struct LoopState {
        /// Where encoded frames are written: the context of the channel's ``WireWriter``.
        let wire: ChannelHandlerContext
        /// The close handshake and keepalive.
        var lifecycle: ConnectionLifecycle
        /// The frames queued in this tick, not yet written.
        var pending: ByteBuffer?
        /// `pending` is a buffer of our own (not a fan-out's shared one) and may grow in place.
        var pendingOwned = false
        /// The peer has this long to answer our close frame.
        var closeTimer: Scheduled<Void>?
        /// This transport's slot in its ``ConnectionSweeper`` (-1 when not watched).
        var sweepIndex = -1
    }

    let channel: any Channel
    let eventLoop: any EventLoop
    let executor: any ConnectionExecutor
    private let loop: NIOLoopBoundBox<LoopState>
    private let batcher: FlushBatcher
    private let sweeper: ConnectionSweeper
    private let logger: Logger
    /// This loop's traffic counters (nil: the server counts nothing).
    let metrics: LoopMetrics?

    /// How long the peer may take to answer our close frame before the socket is closed anyway.
    static let closeHandshakeTimeout: TimeAmount = .seconds(5)

    /// A transport writing through `wire`, the context of the channel's ``WireWriter``. On its loop.
    init(
        wire: ChannelHandlerContext, batcher: FlushBatcher, sweeper: ConnectionSweeper, metrics: LoopMetrics? = nil,
        logger: Logger
    ) {
        self.metrics = metrics
        self.channel = wire.channel
        self.eventLoop = wire.eventLoop
        self.executor = EventLoopExecutor(eventLoop: wire.eventLoop)
        self.loop = NIOLoopBoundBox(LoopState(wire: wire, lifecycle: ConnectionLifecycle(now: .now())), eventLoop: wire.eventLoop)
        self.batcher = batcher
        self.sweeper = sweeper
        self.logger = logger
        sweeper.add(self)
    }

    // MARK: Sending (any thread)

    func send(_ frame: OutboundFrame) {
        if let code = frame.errorCode { metrics?.shared.errorSent(code) }
        send(encoded: WireFrame.encode(.text, payload: frame.bytes, allocator: channel.allocator))
    }

    /// Sends an already encoded frame (from any thread).
    func send(encoded frame: ByteBuffer) {
        if eventLoop.inEventLoop {
            enqueueOnLoop(frame)
        } else {
            eventLoop.execute { self.enqueueOnLoop(frame) }
        }
    }

    func close(code: UInt16, reason: String) {
        if eventLoop.inEventLoop {
            closeOnLoop(code: code, reason: reason)
        } else {
            eventLoop.execute { self.closeOnLoop(code: code, reason: reason) }
        }
    }

    // MARK: On the loop

    /// True while the connection is open (no close frame out, socket up).
    var isOpen: Bool { loop.value.lifecycle.isOpen }

    /// The first close code and reason, ours or the peer's; nil if the socket just dropped.
    var closeStatus: (code: UInt16, reason: String)? { loop.value.lifecycle.closeStatus }

    /// This transport's slot in its sweeper.
    var sweepIndex: Int {
        get { loop.value.sweepIndex }
        set { loop.value.sweepIndex = newValue }
    }

    /// Queues an encoded frame; it is written at the end of the loop tick with everything else queued.
    func enqueueOnLoop(_ frame: ByteBuffer) {
        guard loop.value.lifecycle.isOpen else { return }
        metrics?.frameSent(bytes: frame.readableBytes)
        guard loop.value.pending != nil else {
            loop.value.pending = frame  // shares the caller's buffer: no copy for a lone frame
            batcher.markDirty(self)
            return
        }
        if !loop.value.pendingOwned {
            let queued = loop.value.pending!
            var own = channel.allocator.buffer(capacity: max(1024, 4 * (queued.readableBytes + frame.readableBytes)))
            own.writeImmutableBuffer(queued)
            loop.value.pending = own
            loop.value.pendingOwned = true
        }
        loop.value.pending!.writeImmutableBuffer(frame)
    }

    /// Writes what is queued to the channel, without flushing.
    private func writePending() {
        guard let bytes = loop.value.pending else { return }
        loop.value.pending = nil
        loop.value.pendingOwned = false
        loop.value.wire.write(NIOAny(bytes), promise: nil)
    }

    /// Called by the batcher at the end of the tick. Writability is judged after the flush: bytes still
    /// queued then are bytes the kernel would not take, so more than the high watermark of them means
    /// the client is too slow (bytes merely written earlier in the same loop tick do not count against it).
    func flushNow() {
        guard loop.value.lifecycle.state != .closed else {
            loop.value.pending = nil
            return
        }
        writePending()
        loop.value.wire.flush()
        if loop.value.lifecycle.isOpen, !channel.isWritable {
            logger.warning("slow consumer disconnected: outbound buffer full")
            closeOnLoop(code: 1008, reason: "too slow: outbound buffer full")
        }
    }

    /// Writes a control frame now, after whatever is queued (so it cannot overtake earlier messages).
    func sendControlOnLoop(_ opcode: WireFrame.Opcode, payload: ByteBuffer) {
        guard loop.value.lifecycle.state != .closed else { return }
        writePending()
        loop.value.wire.writeAndFlush(
            NIOAny(WireFrame.encode(opcode, payload: payload.readableBytesView, allocator: channel.allocator)), promise: nil)
    }

    /// Starts the close handshake: sends a close frame, then waits for the peer's close (or times out).
    func closeOnLoop(code: UInt16, reason: String) {
        carryOut(loop.value.lifecycle.close(code: code, reason: reason))
    }

    /// Fails the connection (RFC 6455 §7.1.7): sends a close frame with `code`, then closes the socket
    /// without waiting for the peer's answer. For clients that broke the protocol.
    func failOnLoop(code: UInt16, reason: String) {
        carryOut(loop.value.lifecycle.fail(code: code, reason: reason))
    }

    /// The peer answered (or started) the close handshake.
    func peerClosed(echo code: UInt16?, reason: String = "") {
        carryOut(loop.value.lifecycle.peerClosed(code: code, reason: reason))
    }

    /// The socket has closed: drop what is queued and stop watching the connection.
    func channelClosed() {
        loop.value.lifecycle.socketClosed()
        loop.value.pending = nil
        loop.value.closeTimer?.cancel()
        loop.value.closeTimer = nil
        sweeper.remove(self)
    }

    /// The client sent something: it is alive.
    func noteActivity() { loop.value.lifecycle.noteActivity(at: .now()) }

    /// Closes the connection with 4003 "token expired" at `expiresAt` + `leeway` (replacing any earlier
    /// expiry; `nil` means never). Enforced by the loop's ``ConnectionSweeper``, to within one sweep.
    func scheduleExpiry(at expiresAt: Date?, leeway: TimeInterval) {
        loop.value.lifecycle.expiresAt = expiresAt.map { $0.addingTimeInterval(leeway) }
    }

    /// One sweep of the loop's ``ConnectionSweeper``: expiry, idle close, keepalive ping.
    func sweep(now: NIODeadline, wallClock: Date, pingInterval: TimeAmount, idleTimeout: TimeAmount) {
        let action = loop.value.lifecycle.sweep(
            now: now, wallClock: wallClock, pingInterval: pingInterval, idleTimeout: idleTimeout)
        if case .sendCloseAndWait(let code, _) = action {
            logger.info(code == 4003 ? "token expired" : "closing idle connection", metadata: ["code": "\(code)"])
        }
        carryOut(action)
    }

    /// Does what the lifecycle said.
    private func carryOut(_ action: ConnectionLifecycle.Action) {
        switch action {
        case .none:
            return
        case .ping:
            sendControlOnLoop(.ping, payload: ByteBuffer())
        case .sendCloseAndWait(let code, let reason):
            writeCloseFrame(code: code, reason: reason, thenCloseSocket: false)
            let channel = self.channel
            loop.value.closeTimer = eventLoop.scheduleTask(in: Self.closeHandshakeTimeout) { [self] in
                if loop.value.lifecycle.closeTimerFired() == .closeSocket { channel.close(promise: nil) }
            }
        case .sendCloseThenCloseSocket(let code, let reason):
            writeCloseFrame(code: code, reason: reason, thenCloseSocket: true)
        case .closeSocket:
            loop.value.closeTimer?.cancel()
            loop.value.closeTimer = nil
            channel.close(promise: nil)
        }
    }

    /// Writes a close frame after whatever is queued; with `thenCloseSocket`, closes the socket once it is out.
    private func writeCloseFrame(code: UInt16?, reason: String, thenCloseSocket: Bool) {
        guard channel.isActive else { return }
        writePending()
        let frame = NIOAny(WireFrame.close(code: code, reason: reason, allocator: channel.allocator))
        guard thenCloseSocket else {
            loop.value.wire.writeAndFlush(frame, promise: nil)
            return
        }
        let written = eventLoop.makePromise(of: Void.self)
        loop.value.wire.writeAndFlush(frame, promise: written)
        written.futureResult.whenComplete { [channel] _ in channel.close(promise: nil) }
    }
}
