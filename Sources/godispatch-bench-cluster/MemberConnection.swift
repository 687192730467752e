import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A member's WebSocket connection, read on its event loop: each frame is timestamped and counted in the
/// channel handler the moment NIO decodes it, with no hop to a task. At 20,000 deliveries a second the hop
/// (stream, task wake-up, another thread) was the driver's own latency tail, larger than what is measured.
struct MemberConnection: Sendable {
    let channel: any Channel

    /// Connects and upgrades `ws://127.0.0.1:port/ws` with `Authorization: Bearer token`; `onText` sees every
    /// text frame's bytes with the receipt time, `onClose` the end of the connection (both on the event loop).
    static func connect(
        port: Int, token: String,
        onText: @escaping @Sendable (UnsafeRawBufferPointer) -> Void,
        onClose: @escaping @Sendable () -> Void
    ) async throws -> MemberConnection {
        let upgrade: EventLoopFuture<UpgradeOutcome> = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeOutcome>(maxFrameSize: 1 << 20) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(MemberFrameHandler(onText: onText, onClose: onClose))
                            return UpgradeOutcome.upgraded(channel)
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: "127.0.0.1:\(port)")
                    headers.add(name: "Authorization", value: "Bearer \(token)")
                    headers.add(name: "Content-Length", value: "0")
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<UpgradeOutcome>(
                        upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws", headers: headers),
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(UpgradeOutcome.refused) })
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                }
            }
        switch try await upgrade.get() {
        case .upgraded(let channel): return MemberConnection(channel: channel)
        case .refused: throw BenchError("a node refused a member's WebSocket upgrade (port \(port))")
        }
    }

    enum UpgradeOutcome: Sendable {
        case upgraded(any Channel)
        case refused
    }

    /// Sends text frames (masked, as a client must) in one write.
    func send(texts: [String]) {
        for text in texts {
            channel.write(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text)), promise: nil)
        }
        channel.flush()
    }

    /// Closes the socket.
    func close() async { try? await channel.close() }
}

/// Hands text frames to the member on the event loop, answers pings, reports the end.
final class MemberFrameHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let onText: @Sendable (UnsafeRawBufferPointer) -> Void
    let onClose: @Sendable () -> Void

    init(onText: @escaping @Sendable (UnsafeRawBufferPointer) -> Void, onClose: @escaping @Sendable () -> Void) {
        self.onText = onText
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            frame.data.withUnsafeReadableBytes { onText($0) }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.data)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }
}
