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
final class ChannelTransport: ConnectionTransport, @unchecked Sendable {
    let channel: any Channel
    let eventLoop: any EventLoop
    let executor: any ConnectionExecutor
    /// Where encoded frames are written: the context of the channel's ``WireWriter``.
    private let wire: ChannelHandlerContext
    private let batcher: FlushBatcher
    private let sweeper: ConnectionSweeper
    private let logger: Logger
    /// Loop-confined: the frames queued in this tick, not yet written.
    private var pending: ByteBuffer?
    /// Loop-confined: `pending` is a buffer of our own (not a fan-out's shared one) and may grow in place.
    private var pendingOwned = false
    /// Loop-confined: the socket has closed (no more writes).
    private var inactive = false
    /// Loop-confined: the close handshake has started.
    private(set) var closing = false
    /// Loop-confined: the close timer (the peer has this long to answer our close frame).
    private var closeTimeout: Scheduled<Void>?
    /// Loop-confined: when the token expires (plus leeway); the sweeper closes the connection then.
    private var expiresAt: NIODeadline?
    /// Loop-confined: the last time the client sent anything (a message, a pong, a ping).
    private var lastActivity = NIODeadline.now()
    /// Loop-confined: the last keepalive ping we sent.
    private var lastPing = NIODeadline.uptimeNanoseconds(0)
    /// Loop-confined: this transport's slot in its ``ConnectionSweeper`` (-1 when not watched).
    var sweepIndex = -1
    /// Loop-confined: the first close code and reason, ours or the peer's (1006 if the socket just dropped).
    private(set) var closeStatus: (code: UInt16, reason: String)?

    /// How long the peer may take to answer our close frame before the socket is closed anyway.
    static let closeHandshakeTimeout: TimeAmount = .seconds(5)

    /// A transport writing through `wire`, the context of the channel's ``WireWriter``.
    init(wire: ChannelHandlerContext, batcher: FlushBatcher, sweeper: ConnectionSweeper, logger: Logger) {
        self.channel = wire.channel
        self.eventLoop = wire.eventLoop
        self.executor = EventLoopExecutor(eventLoop: wire.eventLoop)
        self.wire = wire
        self.batcher = batcher
        self.sweeper = sweeper
        self.logger = logger
        sweeper.add(self)
    }

    func send(_ frame: OutboundFrame) {
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

    /// Queues an encoded frame; it is written at the end of the loop tick with everything else queued.
    func enqueueOnLoop(_ frame: ByteBuffer) {
        guard !closing, !inactive else { return }
        guard pending != nil else {
            pending = frame  // shares the caller's buffer: no copy for a lone frame
            batcher.markDirty(self)
            return
        }
        if !pendingOwned {
            var own = channel.allocator.buffer(capacity: max(1024, 4 * (pending!.readableBytes + frame.readableBytes)))
            own.writeImmutableBuffer(pending!)
            pending = own
            pendingOwned = true
        }
        pending!.writeImmutableBuffer(frame)
    }

    /// Writes what is queued to the channel, without flushing.
    private func writePending() {
        guard let bytes = pending else { return }
        pending = nil
        pendingOwned = false
        wire.write(NIOAny(bytes), promise: nil)
    }

    /// Called by the batcher at the end of the tick. Writability is judged after the flush: bytes still
    /// queued then are bytes the kernel would not take, so more than the high watermark of them means
    /// the client is too slow (bytes merely written earlier in the same loop tick do not count against it).
    func flushNow() {
        guard !inactive else {
            pending = nil
            return
        }
        writePending()
        wire.flush()
        if !closing, !channel.isWritable {
            logger.warning("slow consumer disconnected: outbound buffer full")
            closeOnLoop(code: 1008, reason: "too slow: outbound buffer full")
        }
    }

    /// Writes a control frame now, after whatever is queued (so it cannot overtake earlier messages).
    func sendControlOnLoop(_ opcode: WireFrame.Opcode, payload: ByteBuffer) {
        guard !inactive else { return }
        writePending()
        wire.writeAndFlush(NIOAny(WireFrame.encode(opcode, payload: payload.readableBytesView, allocator: channel.allocator)), promise: nil)
    }

    /// Writes a close frame after whatever is queued; with `thenCloseSocket`, closes the socket once it is out.
    private func sendCloseFrame(code: UInt16?, reason: String, thenCloseSocket: Bool) {
        writePending()
        let frame = NIOAny(WireFrame.close(code: code, reason: reason, allocator: channel.allocator))
        guard thenCloseSocket else {
            wire.writeAndFlush(frame, promise: nil)
            return
        }
        let written = eventLoop.makePromise(of: Void.self)
        wire.writeAndFlush(frame, promise: written)
        written.futureResult.whenComplete { [channel] _ in channel.close(promise: nil) }
    }

    /// The socket has closed: drop what is queued and stop watching the connection.
    func channelClosed() {
        inactive = true
        pending = nil
        sweeper.remove(self)
    }

    /// The client sent something: it is alive.
    func noteActivity() { lastActivity = .now() }

    func close(code: UInt16, reason: String) {
        if eventLoop.inEventLoop {
            closeOnLoop(code: code, reason: reason)
        } else {
            eventLoop.execute { self.closeOnLoop(code: code, reason: reason) }
        }
    }

    /// Starts the close handshake: sends a close frame, then waits for the peer's close (or times out).
    func closeOnLoop(code: UInt16, reason: String) {
        guard !closing else { return }
        closing = true
        if closeStatus == nil { closeStatus = (code, reason) }
        guard !inactive else { return }
        sendCloseFrame(code: code, reason: reason, thenCloseSocket: false)
        let channel = self.channel
        closeTimeout = eventLoop.scheduleTask(in: Self.closeHandshakeTimeout) { channel.close(promise: nil) }
    }

    /// Closes the connection with 4003 "token expired" at `expiresAt` + `leeway` (replacing any earlier
    /// expiry; `nil` means never). Enforced by the loop's ``ConnectionSweeper``, to within one sweep.
    func scheduleExpiry(at expiresAt: Date?, leeway: TimeInterval) {
        eventLoop.assertInEventLoop()
        self.expiresAt = expiresAt.map { .now() + .nanoseconds(Int64(max(0, $0.timeIntervalSinceNow + leeway) * 1e9)) }
    }

    /// One sweep of the loop's ``ConnectionSweeper``: expiry, idle close, keepalive ping.
    func sweep(now: NIODeadline, pingInterval: TimeAmount, idleTimeout: TimeAmount) {
        guard !closing, !inactive else { return }
        if let expiresAt, now >= expiresAt {
            logger.info("token expired", metadata: ["channel": "\(ObjectIdentifier(channel).hashValue)"])
            closeOnLoop(code: 4003, reason: "token expired")
        } else if now - lastActivity >= idleTimeout {
            logger.info("closing idle connection", metadata: ["channel": "\(ObjectIdentifier(channel).hashValue)"])
            closeOnLoop(code: 1001, reason: "idle timeout")
        } else if now - lastActivity >= pingInterval, now - lastPing >= pingInterval {
            lastPing = now
            sendControlOnLoop(.ping, payload: ByteBuffer())
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): sends a close frame with `code`, then closes the socket
    /// without waiting for the peer's answer. For clients that broke the protocol.
    func failOnLoop(code: UInt16, reason: String) {
        if closeStatus == nil { closeStatus = (code, reason) }
        guard !inactive else { return }
        if closing {
            channel.close(promise: nil)
            return
        }
        closing = true
        sendCloseFrame(code: code, reason: reason, thenCloseSocket: true)
    }

    /// The peer answered (or started) the close handshake.
    func peerClosed(echo code: UInt16?, reason: String = "") {
        if closeStatus == nil { closeStatus = (code ?? 1005, reason) }
        if !closing {
            closing = true
            guard !inactive else { return }
            sendCloseFrame(code: code, reason: "", thenCloseSocket: true)
        } else {
            closeTimeout?.cancel()
            channel.close(promise: nil)
        }
    }
}
