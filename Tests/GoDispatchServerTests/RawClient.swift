import GoDispatchCore
import Foundation
import GoDispatchTestSupport
import NIOCore
import NIOPosix

/// A bare TCP client for bytes no WebSocket library would write — invalid close codes, non-minimal
/// lengths, half-sent handshakes — that shows exactly what the server writes back and when it hangs up.
///
/// One test task reads from it at a time.
final class RawClient: Sendable {
    /// A frame the server sent (server frames are never masked).
    struct ServerFrame: Equatable {
        /// The first header byte's FIN bit.
        var fin: Bool
        /// The opcode.
        var opcode: UInt8
        /// The payload.
        var payload: [UInt8]

        /// A close frame's code, if it has one.
        var closeCode: UInt16? {
            guard opcode == 0x8, payload.count >= 2 else { return nil }
            return UInt16(payload[0]) << 8 | UInt16(payload[1])
        }

        /// A close frame's reason.
        var closeReason: String { String(decoding: payload.dropFirst(2), as: UTF8.self) }
    }

    /// What arrives from the socket.
    enum Event: Sendable {
        /// Bytes from the server.
        case bytes([UInt8])
        /// The server closed the connection (or it was reset).
        case end
    }

    let channel: any Channel
    private let inbox: Mailbox<Event>
    /// Bytes received and not consumed yet, and whether the connection has ended.
    private let received = Locked<(bytes: [UInt8], ended: Bool)>(([], false))

    private init(channel: any Channel, inbox: Mailbox<Event>) {
        self.channel = channel
        self.inbox = inbox
    }

    /// Opens a TCP connection to 127.0.0.1:`port`.
    static func connect(port: Int) async throws -> RawClient {
        let inbox = Mailbox<Event>()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawClient(channel: channel, inbox: inbox)
    }

    /// Opens a connection and sends a WebSocket upgrade request for `/ws` with `headers`; returns the
    /// client and the response head (status line and headers, lower-cased names kept as sent).
    static func upgrade(port: Int, token: String, headers: [(String, String)] = []) async throws -> (RawClient, String) {
        let client = try await connect(port: port)
        var request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        request += "Authorization: Bearer \(token)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        try await client.write(Array((request + "\r\n").utf8))
        return (client, await client.responseHead() ?? "")
    }

    /// Writes bytes as they are.
    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Closes the socket from this side.
    func close() async { try? await channel.close() }

    /// The HTTP response head (up to the blank line), or nil if none came within `timeout`.
    func responseHead(timeout: Duration = .seconds(30)) async -> String? {
        let end = Array("\r\n\r\n".utf8)
        while true {
            let head = received.withLock { state -> String? in
                guard let range = state.bytes.firstRange(of: end) else { return nil }
                defer { state.bytes.removeSubrange(..<range.upperBound) }
                return String(decoding: state.bytes[..<range.lowerBound], as: UTF8.self)
            }
            if let head { return head }
            guard await fill(timeout: timeout) else { return nil }
        }
    }

    /// The next frame the server sends, or nil if none came (whole) within `timeout`.
    func frame(timeout: Duration = .seconds(30)) async -> ServerFrame? {
        while true {
            let frame = received.withLock { state -> ServerFrame? in
                guard let (frame, size) = Self.frame(in: state.bytes) else { return nil }
                state.bytes.removeFirst(size)
                return frame
            }
            if let frame { return frame }
            guard await fill(timeout: timeout) else { return nil }
        }
    }

    /// The code of the server's close frame, skipping the frames before it; nil if none came.
    func closeCode(timeout: Duration = .seconds(30)) async -> UInt16? {
        while let frame = await frame(timeout: timeout) {
            if frame.opcode == 0x8 { return frame.closeCode }
        }
        return nil
    }

    /// True once the server has closed the connection (whatever it sent before), false if it is still
    /// open after `timeout`.
    func closedByServer(timeout: Duration = .seconds(30)) async -> Bool {
        while !received.withLock({ $0.ended }) {
            guard await fill(timeout: timeout) else { return received.withLock { $0.ended } }
        }
        return true
    }

    /// Everything received so far that has not been read as a head or a frame.
    var unread: [UInt8] { received.withLock { $0.bytes } }

    /// Waits for the next event; false on timeout or once the connection has ended.
    private func fill(timeout: Duration) async -> Bool {
        guard !received.withLock({ $0.ended }) else { return false }
        guard let event = await inbox.take(timeout: timeout) else { return false }
        received.withLock { state in
            switch event {
            case .bytes(let bytes): state.bytes += bytes
            case .end: state.ended = true
            }
        }
        return true
    }

    /// Parses one unmasked server frame at the start of `bytes`: the frame and its size, or nil if incomplete.
    private static func frame(in bytes: [UInt8]) -> (ServerFrame, Int)? {
        guard bytes.count >= 2 else { return nil }
        var length = Int(bytes[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        let frame = ServerFrame(
            fin: bytes[0] & 0x80 != 0, opcode: bytes[0] & 0x0F, payload: Array(bytes[offset..<offset + length]))
        return (frame, offset + length)
    }
}

/// Hands a raw client's bytes and its end to the test.
private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let inbox: Mailbox<RawClient.Event>

    init(inbox: Mailbox<RawClient.Event>) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbox.put(.bytes(Array(unwrapInboundIn(data).readableBytesView)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.put(.end)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)  // a reset ends the connection like a close
    }
}
