import Foundation
import GoDispatchCore
import Logging
import NIOCore
import NIOWebSocket

/// The core's view of one WebSocket channel: send frames (from any thread), close with a code.
///
/// Writes happen on the channel's loop; flushes are coalesced by the loop's ``FlushBatcher``. The
/// outbound buffer is bounded by the channel's write-buffer watermark: a client too slow to drain it is
/// disconnected with close code 1008 instead of growing memory.
final class ChannelTransport: ConnectionTransport, @unchecked Sendable {
    let channel: any Channel
    let eventLoop: any EventLoop
    let executor: any ConnectionExecutor
    private let batcher: FlushBatcher
    private let logger: Logger
    /// Loop-confined: a flush is already queued for this channel.
    private var flushQueued = false
    /// Loop-confined: the close handshake has started.
    private(set) var closing = false
    /// Loop-confined: the close timer (the peer has this long to answer our close frame).
    private var closeTimeout: Scheduled<Void>?
    /// Loop-confined: closes the connection when its token expires (unless refreshed).
    private var expiryTimer: Scheduled<Void>?
    /// Loop-confined: the first close code and reason, ours or the peer's (1006 if the socket just dropped).
    private(set) var closeStatus: (code: UInt16, reason: String)?

    /// How long the peer may take to answer our close frame before the socket is closed anyway.
    static let closeHandshakeTimeout: TimeAmount = .seconds(5)

    init(channel: any Channel, batcher: FlushBatcher, logger: Logger) {
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.executor = EventLoopExecutor(eventLoop: channel.eventLoop)
        self.batcher = batcher
        self.logger = logger
    }

    func send(_ frame: OutboundFrame) { send(WebSocketFrame.text(frame)) }

    /// Sends an already built WebSocket frame.
    func send(_ frame: WebSocketFrame) {
        if eventLoop.inEventLoop {
            writeOnLoop(frame)
        } else {
            eventLoop.execute { self.writeOnLoop(frame) }
        }
    }

    /// Writes without flushing; the flush comes at the end of the loop tick.
    func writeOnLoop(_ frame: WebSocketFrame) {
        guard !closing, channel.isActive else { return }
        channel.write(frame, promise: nil)
        if !flushQueued {
            flushQueued = true
            batcher.markDirty(self)
        }
    }

    /// Called by the batcher. Writability is judged after the flush: bytes still queued then are
    /// bytes the kernel would not take, so more than the high watermark of them means the client is
    /// too slow (bytes merely written earlier in the same loop tick do not count against it).
    func flushNow() {
        flushQueued = false
        channel.flush()
        if !closing, channel.isActive, !channel.isWritable {
            logger.warning("slow consumer disconnected: outbound buffer full")
            closeOnLoop(code: 1008, reason: "too slow: outbound buffer full")
        }
    }

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
        guard channel.isActive else { return }
        var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.writeInteger(code)
        data.writeString(String(reason.utf8.prefix(120)) ?? "")
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data), promise: nil)
        let channel = self.channel
        closeTimeout = eventLoop.scheduleTask(in: Self.closeHandshakeTimeout) { channel.close(promise: nil) }
    }

    /// Closes the connection with 4003 "token expired" at `expiresAt` + `leeway`, replacing any earlier timer.
    func scheduleExpiry(at expiresAt: Date?, leeway: TimeInterval) {
        eventLoop.assertInEventLoop()
        expiryTimer?.cancel()
        expiryTimer = nil
        guard let expiresAt else { return }
        let seconds = max(0, expiresAt.timeIntervalSinceNow + leeway)
        expiryTimer = eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) { [self] in
            logger.info("token expired", metadata: ["channel": "\(ObjectIdentifier(channel).hashValue)"])
            closeOnLoop(code: 4003, reason: "token expired")
        }
    }

    /// Stops the expiry timer (the connection is gone).
    func cancelTimers() {
        expiryTimer?.cancel()
        expiryTimer = nil
    }

    /// The peer answered (or started) the close handshake.
    func peerClosed(echo code: UInt16?, reason: String = "") {
        if closeStatus == nil { closeStatus = (code ?? 1005, reason) }
        if !closing {
            closing = true
            var data = channel.allocator.buffer(capacity: 2)
            if let code { data.writeInteger(code) }
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)).whenComplete {
                [channel] _ in channel.close(promise: nil)
            }
        } else {
            closeTimeout?.cancel()
            channel.close(promise: nil)
        }
    }
}
