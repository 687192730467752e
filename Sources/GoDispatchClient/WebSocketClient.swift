import Foundation
import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization

/// What a client sees from the server.
public enum ClientEvent: Sendable, Equatable {
    /// A text message.
    case text(String)
    /// A binary message.
    case binary([UInt8])
    /// The server's close frame: code and reason.
    case close(code: UInt16?, reason: String)
    /// The TCP connection ended.
    case disconnected
}

/// Why a connection attempt failed.
public enum WebSocketClientError: Error, Sendable, Equatable {
    /// The server answered the upgrade with another HTTP status (e.g. 401, 429), and this body.
    case rejected(status: Int, body: String)
    /// The server's answer was not HTTP.
    case malformedResponse
}

/// A small WebSocket client on SwiftNIO for tests, benchmarks and `godispatch connect`.
///
/// It does the opening handshake itself (so a refusal's status and body are visible) and can send
/// any frame, including fragments and invalid payloads, to exercise a server's error paths.
public final class WebSocketClient: Sendable {
    let channel: any Channel
    /// Events in arrival order.
    public let events: AsyncStream<ClientEvent>
    /// Set once we send a close frame, so the server's echo is not answered again.
    let closeSent: CloseFlag

    private init(channel: any Channel, events: AsyncStream<ClientEvent>, closeSent: CloseFlag) {
        self.channel = channel
        self.events = events
        self.closeSent = closeSent
    }

    /// Connects to `ws://host:port` + `path` (which may carry a query) with extra request headers.
    public static func connect(
        host: String, port: Int, path: String, headers: [(String, String)] = [],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> WebSocketClient {
        let (stream, continuation) = AsyncStream.makeStream(of: ClientEvent.self)
        let closeSent = CloseFlag()
        let handshake = HandshakeHandler(continuation: continuation, closeSent: closeSent)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handshake) }
            }
            .connect(host: host, port: port).get()
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())\r\n"
        request += "Sec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        try await handshake.result.get()
        return WebSocketClient(channel: channel, events: stream, closeSent: closeSent)
    }

    /// Sends a text message.
    public func send(text: String) async throws {
        try await send(frame: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
    }

    /// Sends any frame; client frames are masked as RFC 6455 requires.
    public func send(frame: WebSocketFrame) async throws {
        var masked = frame
        if masked.maskKey == nil { masked.maskKey = .random() }
        if frame.opcode == .connectionClose { closeSent.set() }
        try await channel.writeAndFlush(masked)
    }

    /// Sends several text messages in one write (so they reach the server in one read, back to back).
    public func send(texts: [String]) async throws {
        for text in texts {
            var frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text))
            frame.maskKey = .random()
            channel.write(frame, promise: nil)
        }
        try await channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: ByteBuffer()))
    }

    /// Sends raw bytes as one final text frame (they need not be valid UTF-8).
    public func send(textBytes: [UInt8]) async throws {
        try await send(frame: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: textBytes)))
    }

    /// Starts the close handshake.
    public func close(code: UInt16 = 1000) async throws {
        var data = ByteBuffer()
        data.writeInteger(code)
        try await send(frame: WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
    }

    /// Stops reading from the socket (simulates a client too slow to keep up, or one that hangs). On a
    /// connection that has already closed there is nothing left to read: that is not an error.
    public func pauseReading() async throws {
        do {
            try await channel.setOption(ChannelOptions.autoRead, value: false).get()
        } catch ChannelError.ioOnClosedChannel {
            return
        }
    }

    /// Starts reading from the socket again after ``pauseReading()``.
    public func resumeReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: true).get()
    }

    /// Closes the socket without a handshake.
    public func disconnect() async { try? await channel.close() }
}

/// Reads the HTTP response to the upgrade request, then switches the pipeline to WebSocket frames.
private final class HandshakeHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let continuation: AsyncStream<ClientEvent>.Continuation
    let closeSent: CloseFlag
    private var buffer = ByteBuffer()
    private var promise: EventLoopPromise<Void>?
    private var rejectedStatus: Int?

    init(continuation: AsyncStream<ClientEvent>.Continuation, closeSent: CloseFlag) {
        self.continuation = continuation
        self.closeSent = closeSent
    }

    /// Succeeds on 101, fails with ``WebSocketClientError/rejected(status:body:)`` otherwise.
    private(set) var result: EventLoopFuture<Void>!

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.promise = promise
        result = promise.futureResult
    }

    /// Fails the handshake if the channel goes away before any answer (e.g. the connect failed).
    func handlerRemoved(context: ChannelHandlerContext) {
        promise?.fail(WebSocketClientError.malformedResponse)
        promise = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        guard rejectedStatus == nil else { return }  // collecting a refusal's body until the server closes
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
        let headerLength = end.upperBound - view.startIndex
        let head = buffer.readString(length: headerLength) ?? ""
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            promise?.fail(WebSocketClientError.malformedResponse)
            promise = nil
            context.close(promise: nil)
            return
        }
        guard status == 101 else {
            rejectedStatus = status  // the body follows; the server closes after it
            return
        }
        let leftover = buffer
        let pipeline = context.pipeline
        let continuation = self.continuation
        do {
            try pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)),
                WebSocketFrameEncoder(),
                ClientFrameHandler(continuation: continuation, closeSent: closeSent),
            ])
        } catch {
            promise?.fail(error)
            promise = nil
            return
        }
        promise?.succeed()
        promise = nil
        // Frames that arrived in the same read as the 101 go to the frame decoder before this handler leaves.
        if leftover.readableBytes > 0 { context.fireChannelRead(NIOAny(leftover)) }
        buffer.clear()
        pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let status = rejectedStatus {
            let body = buffer.readString(length: buffer.readableBytes) ?? ""
            promise?.fail(WebSocketClientError.rejected(status: status, body: body.trimmingCharacters(in: .whitespacesAndNewlines)))
        } else {
            promise?.fail(WebSocketClientError.malformedResponse)
        }
        promise = nil
        continuation.finish()
        context.fireChannelInactive()
    }
}

/// Turns frames into ``ClientEvent``s and answers pings.
private final class ClientFrameHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let continuation: AsyncStream<ClientEvent>.Continuation
    let closeSent: CloseFlag
    private var fragments: [UInt8] = []
    private var fragmentOpcode: WebSocketOpcode?

    init(continuation: AsyncStream<ClientEvent>.Continuation, closeSent: CloseFlag) {
        self.continuation = continuation
        self.closeSent = closeSent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            if frame.opcode != .continuation { fragmentOpcode = frame.opcode }
            fragments.append(contentsOf: frame.unmaskedData.readableBytesView)
            guard frame.fin else { return }
            let bytes = fragments
            fragments = []
            if fragmentOpcode == .text {
                continuation.yield(.text(String(decoding: bytes, as: UTF8.self)))
            } else {
                continuation.yield(.binary(bytes))
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self)
            let reason = data.readString(length: data.readableBytes) ?? ""
            continuation.yield(.close(code: code, reason: reason))
            // Answer the close handshake (RFC 6455 §5.5.1) unless we started it, then hang up.
            guard !closeSent.isSet else {
                context.close(promise: nil)
                return
            }
            var echo = context.channel.allocator.buffer(capacity: 2)
            if let code { echo.writeInteger(code) }
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { [channel = context.channel] _ in
                channel.close(promise: nil)
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.yield(.disconnected)
        continuation.finish()
        context.fireChannelInactive()
    }
}

/// A flag set once, read from any thread.
final class CloseFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
