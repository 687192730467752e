import GoDispatchCore
import Logging
import NIOCore

/// Pumps one client's bytes into the router: its ``WebSocketFrameParser`` turns them into messages,
/// then text → route, binary → error frame, ping → pong, close → close handshake, broken framing →
/// the connection fails with 1002 (or 1009 when too large). Keepalive and idle close are the loop's
/// ``ConnectionSweeper``'s.
///
/// Knows nothing of rooms or users beyond the core `Connection` it feeds.
final class WebSocketConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let connection: Connection
    private let transport: ChannelTransport
    private let router: Router
    private let state: any StateManager
    private let logger: Logger
    private var parser: WebSocketFrameParser
    /// The client broke the protocol: its further bytes are ignored while the connection closes.
    private var failed = false

    init(
        connection: Connection, transport: ChannelTransport, router: Router, state: any StateManager,
        maxMessageBytes: Int, logger: Logger
    ) {
        self.connection = connection
        self.transport = transport
        self.router = router
        self.state = state
        self.parser = WebSocketFrameParser(maxMessageBytes: maxMessageBytes)
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        transport.noteActivity()
        do {
            try parser.consume(unwrapInboundIn(data)) { message in handle(message) }
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
            guard !transport.closing else { return }
            guard bytes.withUnsafeBytes({ UTF8Validation.isValid($0) }) else {
                transport.closeOnLoop(code: 1007, reason: "text message is not valid UTF-8")
                return
            }
            router.handle(bytes, from: connection)
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
        router.disconnected(connection, code: status.code, reason: status.reason)
        state.disconnect(connection)
        logger.info("connection closed", metadata: ["connection": "\(connection.id)", "user": "\(connection.user.id)"])
        context.fireChannelInactive()
    }
}
