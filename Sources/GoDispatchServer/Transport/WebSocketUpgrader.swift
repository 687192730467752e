import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The HTTP → WebSocket upgrade. The handshake (key, version 13, `Sec-WebSocket-Accept`, the gateway's
/// decision through `shouldUpgrade`) is NIO's; the channel it leaves behind is ours: `install` adds
/// GoDispatch's one handler (``WebSocketConnectionHandler`` with its ``WebSocketFrameParser``) instead of
/// NIO's frame encoder, decoder and aggregator, so a connection carries one small handler and no buffers
/// while idle; frames are written by its ``ChannelTransport``.
final class WebSocketUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []
    private let handshake: NIOWebSocketServerUpgrader
    private let install: @Sendable (any Channel) -> EventLoopFuture<Void>

    /// An upgrader that asks `shouldUpgrade` (nil = refuse) and then calls `install` on the upgraded channel.
    init(
        shouldUpgrade: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?>,
        install: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) {
        self.handshake = NIOWebSocketServerUpgrader(
            shouldUpgrade: shouldUpgrade,
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() })
        self.install = install
    }

    func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(
            channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        install(context.channel)
    }
}
