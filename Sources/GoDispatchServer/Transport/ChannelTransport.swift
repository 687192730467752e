import Foundation
import GoDispatchCore
import Logging
import NIOCore

/// The core's view of one WebSocket channel: send frames (from any thread), close with a code.
///
/// Frames arrive already encoded (``WireFrame``). Every frame a connection gets during one loop tick is
/// gathered into one buffer — the fan-out's shared buffer itself when there is just one — and written
/// once, straight to the socket (or, with TLS or when the kernel pushes back, through the channel), when
/// the loop's ``FlushBatcher`` flushes at the end of the tick. The outbound buffer is bounded by the
/// channel's write-buffer watermark: a client too slow to drain it is disconnected with close code 1008
/// instead of growing memory.
///
/// The close handshake and keepalive rules live in ``ConnectionLifecycle``; this class carries out the
/// actions it returns. Everything that changes is touched only on the channel's event loop (asserted in
/// debug builds). It lives in the object itself rather than in a `NIOLoopBoundBox`, so a delivery
/// touches one object per recipient, not two, and an idle connection holds one allocation less; the
/// transport is also its connection's executor (the loop), which saves another.
final class ChannelTransport: ConnectionTransport, ConnectionExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop
    /// The identity of ``eventLoop``: the fan-out groups recipients by it without retaining the loop.
    let loopID: ObjectIdentifier
    private let batcher: FlushBatcher
    private let sweeper: ConnectionSweeper
    /// This loop's traffic counters (nil: the server counts nothing).
    let metrics: LoopMetrics?

    // On the loop only.
    /// The channel: frames NIO writes enter its pipeline at the tail and pass only outbound handlers (TLS,
    /// if any) — every GoDispatch handler is inbound-only.
    let channel: any Channel
    /// The socket, when frames may be sent to it directly (no TLS, descriptor found): see ``DirectSocket``.
    private let socket: DirectSocket?
    /// Writes handed to NIO and not yet done: while there are any, later bytes go to NIO too, behind them.
    private var writesInNIO = 0
    /// Direct sends the kernel took only in part (the rest went to NIO): a client falling behind.
    private(set) var partialSends = 0
    /// The close handshake and keepalive.
    private var lifecycle: ConnectionLifecycle
    /// The frames queued in this tick, not yet written.
    private var pending: ByteBuffer?
    /// `pending` is a buffer of our own (not a fan-out's shared one) and may grow in place.
    private var pendingOwned = false
    /// The peer has this long to answer our close frame.
    private var closeTimer: Scheduled<Void>?
    /// This transport's slot in its ``ConnectionSweeper`` (-1 when not watched).
    var sweepIndex = -1

    /// Where frame buffers come from (NIO's default allocator, as the channel's: usable from any thread).
    static let allocator = ByteBufferAllocator()

    /// How long the peer may take to answer our close frame before the socket is closed anyway.
    static let closeHandshakeTimeout: TimeAmount = .seconds(5)

    /// A transport for `channel`, writing to `socket` directly when there is one. On the channel's loop.
    init(
        channel: any Channel, socket: DirectSocket? = nil, batcher: FlushBatcher, sweeper: ConnectionSweeper,
        metrics: LoopMetrics? = nil
    ) {
        channel.eventLoop.assertInEventLoop()
        self.metrics = metrics
        self.eventLoop = channel.eventLoop
        self.loopID = ObjectIdentifier(channel.eventLoop)
        self.channel = channel
        self.socket = socket
        self.lifecycle = ConnectionLifecycle(now: .now())
        self.batcher = batcher
        self.sweeper = sweeper
        sweeper.add(self)
    }

    /// The server's logger (kept once per loop, by the sweeper).
    var logger: Logger { sweeper.logger }

    // MARK: The connection's executor (its event loop)

    var executor: any ConnectionExecutor { self }

    func execute(_ work: @escaping @Sendable () -> Void) { eventLoop.execute(work) }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork {
        EventLoopExecutor.ScheduledTask(task: eventLoop.scheduleTask(in: TimeAmount(checked: delay), work))
    }

    // MARK: Sending (any thread)

    func send(_ frame: OutboundFrame) {
        if let code = frame.errorCode { metrics?.shared.errorSent(code) }
        send(encoded: WireFrame.encode(.text, payload: frame.bytes, allocator: Self.allocator))
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
    var isOpen: Bool { lifecycle.isOpen }

    /// The first close code and reason, ours or the peer's; nil if the socket just dropped.
    var closeStatus: (code: UInt16, reason: String)? { lifecycle.closeStatus }

    /// Queues an encoded frame; it is written at the end of the loop tick with everything else queued.
    func enqueueOnLoop(_ frame: ByteBuffer) {
        eventLoop.assertInEventLoop()
        guard lifecycle.isOpen else { return }
        metrics?.frameSent(bytes: frame.readableBytes)
        guard pending != nil else {
            pending = frame  // shares the caller's buffer: no copy for a lone frame
            batcher.markDirty(self)
            return
        }
        if !pendingOwned {
            let queued = pending!
            var own = batcher.gatheringBuffer(capacity: max(1024, 4 * (queued.readableBytes + frame.readableBytes)))
            own.writeImmutableBuffer(queued)
            pending = own
            pendingOwned = true
        }
        pending!.writeImmutableBuffer(frame)
    }

    /// Frames are written straight to the socket (not through NIO's write path) whenever NIO holds none
    /// of this connection's bytes.
    var writesDirectly: Bool { socket != nil }

    /// Writes what is queued, and flushes it.
    private func writePending() {
        let owned = pendingOwned
        guard let bytes = takePending() else { return }
        write(bytes, gathered: owned)
    }

    /// Writes `bytes` and flushes: straight to the socket when nothing is waiting in NIO, then whatever
    /// the kernel did not take through NIO (which waits for the socket to be writable again).
    /// A `gathered` buffer (one of the batcher's) goes back to the batcher once it is all written.
    private func write(_ bytes: ByteBuffer, gathered: Bool = false) {
        // `.closed` comes from `channelInactive`, which NIO fires in the very call (on this loop) that
        // closes the descriptor: until then the descriptor is this connection's.
        guard let socket, writesInNIO == 0, lifecycle.state != .closed else {
            writeThroughNIO(bytes)
            return
        }
        switch socket.send(bytes) {
        case .all:
            if gathered { batcher.recycle(bytes) }
        case .partial(let sent):
            partialSends += 1
            writeThroughNIO(bytes.getSlice(at: bytes.readerIndex + sent, length: bytes.readableBytes - sent)!)
        case .failed:
            writeThroughNIO(bytes)  // NIO's own write fails the same way and closes the channel
        }
    }

    /// Writes and flushes `bytes` through the channel; with a direct socket, counted until NIO is done with
    /// them so that no later write overtakes them.
    private func writeThroughNIO(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        guard socket != nil else {
            channel.writeAndFlush(bytes, promise: promise)
            return
        }
        writesInNIO += 1
        let done = promise ?? eventLoop.makePromise(of: Void.self)
        done.futureResult.whenComplete { [self] _ in writesInNIO -= 1 }
        channel.writeAndFlush(bytes, promise: done)
    }

    /// What is queued, leaving nothing queued.
    private func takePending() -> ByteBuffer? {
        guard let bytes = pending else { return nil }
        pending = nil
        pendingOwned = false
        return bytes
    }

    /// Called by the batcher at the end of the tick. Writability is judged after the flush: bytes still
    /// queued then are bytes the kernel would not take, so more than the high watermark of them means
    /// the client is too slow (bytes merely written earlier in the same loop tick do not count against it).
    func flushNow() {
        eventLoop.assertInEventLoop()
        guard lifecycle.state != .closed else {
            pending = nil
            return
        }
        writePending()
        // Only bytes NIO holds count against the watermark: with none handed to it, there is nothing to check.
        if socket == nil || writesInNIO > 0, lifecycle.isOpen, !channel.isWritable {
            logger.warning("slow consumer disconnected: outbound buffer full")
            closeOnLoop(code: 1008, reason: "too slow: outbound buffer full")
        }
    }

    /// Writes a control frame now, after whatever is queued (so it cannot overtake earlier messages).
    func sendControlOnLoop(_ opcode: WireFrame.Opcode, payload: ByteBuffer) {
        guard lifecycle.state != .closed else { return }
        writePending()
        writeThroughNIO(WireFrame.encode(opcode, payload: payload.readableBytesView, allocator: Self.allocator))
    }

    /// Starts the close handshake: sends a close frame, then waits for the peer's close (or times out).
    func closeOnLoop(code: UInt16, reason: String) {
        carryOut(lifecycle.close(code: code, reason: reason))
    }

    /// Fails the connection (RFC 6455 §7.1.7): sends a close frame with `code`, then closes the socket
    /// without waiting for the peer's answer. For clients that broke the protocol.
    func failOnLoop(code: UInt16, reason: String) {
        carryOut(lifecycle.fail(code: code, reason: reason))
    }

    /// The peer answered (or started) the close handshake.
    func peerClosed(echo code: UInt16?, reason: String = "") {
        carryOut(lifecycle.peerClosed(code: code, reason: reason))
    }

    /// The socket has closed: drop what is queued and stop watching the connection.
    func channelClosed() {
        lifecycle.socketClosed()
        pending = nil
        closeTimer?.cancel()
        closeTimer = nil
        sweeper.remove(self)
    }

    /// The client sent something: it is alive.
    func noteActivity() { lifecycle.noteActivity(at: .now()) }

    /// Closes the connection with 4003 "token expired" at `expiresAt` + `leeway` (replacing any earlier
    /// expiry; `nil` means never). Enforced by the loop's ``ConnectionSweeper``, to within one sweep.
    func scheduleExpiry(at expiresAt: Date?, leeway: TimeInterval) {
        lifecycle.expiresAt = expiresAt.map { $0.addingTimeInterval(leeway) }
    }

    /// One sweep of the loop's ``ConnectionSweeper``: expiry, idle close, keepalive ping.
    func sweep(now: NIODeadline, wallClock: Date, pingInterval: TimeAmount, idleTimeout: TimeAmount) {
        let action = lifecycle.sweep(
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
            closeTimer = eventLoop.scheduleTask(in: Self.closeHandshakeTimeout) { [self] in
                if lifecycle.closeTimerFired() == .closeSocket { channel.close(promise: nil) }
            }
        case .sendCloseThenCloseSocket(let code, let reason):
            writeCloseFrame(code: code, reason: reason, thenCloseSocket: true)
        case .closeSocket:
            closeTimer?.cancel()
            closeTimer = nil
            channel.close(promise: nil)
        }
    }

    /// Writes a close frame after whatever is queued; with `thenCloseSocket`, closes the socket once it is out.
    private func writeCloseFrame(code: UInt16?, reason: String, thenCloseSocket: Bool) {
        guard channel.isActive else { return }
        writePending()
        let frame = WireFrame.close(code: code, reason: reason, allocator: Self.allocator)
        guard thenCloseSocket else {
            writeThroughNIO(frame)
            return
        }
        let written = eventLoop.makePromise(of: Void.self)
        writeThroughNIO(frame, promise: written)
        written.futureResult.whenComplete { [channel] _ in channel.close(promise: nil) }
    }
}
