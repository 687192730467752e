import GoDispatchCore
import Logging
import NIOCore

/// Pumps one client's bytes into the router: its ``WebSocketFrameParser`` turns them into messages,
/// then text → route, binary → error frame, ping → pong, close → close handshake (the code echoed), broken
/// framing or an invalid close code → the connection fails with 1002 (1007 for text that is not UTF-8,
/// 1009 for a message too large). Keepalive and idle close are the loop's
/// ``ConnectionSweeper``'s.
///
/// Knows nothing of rooms or users beyond the core `Connection` it feeds.
final class WebSocketConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: Connection
    private let transport: ChannelTransport
    private let router: Router
    private var parser: WebSocketFrameParser
    /// The client broke the protocol: its further bytes are ignored while the connection closes.
    private var failed = false

    /// Kept small: an idle connection holds one. The state core is the router's, the logger the transport's.
    init(connection: Connection, transport: ChannelTransport, router: Router, maxMessageBytes: Int) {
        self.connection = connection
        self.transport = transport
        self.router = router
        self.parser = WebSocketFrameParser(maxMessageBytes: maxMessageBytes)
    }

    private var logger: Logger { transport.logger }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        transport.noteActivity()
        let bytes = unwrapInboundIn(data)
        transport.metrics?.received(bytes: bytes.readableBytes)
        do {
            try parser.consume(bytes) { message in handle(message) }
        } catch {
            failed = true
            logger.debug(
                "protocol error", metadata: ["connection": "\(connection.id)", "error": "\(error.reason)"])
            transport.failOnLoop(code: error.closeCode, reason: error.reason)
        }
    }

    private func handle(_ message: WebSocketInbound) {
        switch message {
        case .text(let bytes):
            guard transport.isOpen else { return }
            router.handle(bytes, from: connection)  // the parser has checked it is UTF-8
        case .binary:
            transport.send(FrameEncoder.error(.unsupported, "binary frames are not supported; send JSON text frames"))
        case .ping(let data):
            transport.sendControlOnLoop(.pong, payload: data)
        case .pong:
            break
        case .close(let code, let reason):
            transport.peerClosed(echo: code, reason: reason)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["connection": "\(connection.id)", "error": "\(error)"])
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        transport.channelClosed()
        let status = transport.closeStatus ?? (1006, "connection lost")
        transport.metrics?.shared.disconnected(code: status.code)
        router.disconnected(connection, code: status.code, reason: status.reason)
        router.services.state.disconnect(connection)
        logger.info("connection closed", metadata: ["connection": "\(connection.id)", "user": "\(connection.user.id)"])
        context.fireChannelInactive()
    }
}
