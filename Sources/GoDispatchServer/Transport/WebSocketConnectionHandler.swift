import GoDispatchCore
import Logging
import NIOCore
import NIOWebSocket

/// Pumps one client's WebSocket frames into the router: text → route, binary → error frame, ping → pong,
/// close → close handshake. (Keepalive and idle close are the loop's ``ConnectionSweeper``'s.)
///
/// Knows nothing of rooms or users beyond the core `Connection` it feeds.
final class WebSocketConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame

    private let connection: Connection
    private let transport: ChannelTransport
    private let router: Router
    private let state: any StateManager
    private let logger: Logger

    init(
        connection: Connection, transport: ChannelTransport, router: Router, state: any StateManager,
        logger: Logger
    ) {
        self.connection = connection
        self.transport = transport
        self.router = router
        self.state = state
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        transport.noteActivity()
        switch frame.opcode {
        case .text:
            guard !transport.closing else { return }
            let payload = frame.unmaskedData
            let valid = payload.withUnsafeReadableBytes { UTF8Validation.isValid($0) }
            guard valid else {
                transport.closeOnLoop(code: 1007, reason: "text message is not valid UTF-8")
                return
            }
            router.handle(Array(payload.readableBytesView), from: connection)
        case .binary:
            transport.send(FrameEncoder.error(.unsupported, "binary frames are not supported; send JSON text frames"))
        case .ping:
            transport.sendControlOnLoop(.pong, payload: frame.unmaskedData)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self)
            transport.peerClosed(echo: code, reason: data.readString(length: data.readableBytes) ?? "")
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            transport.closeOnLoop(code: 1009, reason: "message too large")
        case is NIOWebSocketFrameAggregator.Error:
            transport.closeOnLoop(code: 1002, reason: "invalid fragmentation")
        case is NIOWebSocketError:
            break  // NIO's protocol error handler already sent the close frame (1009 or 1002).
        default:
            logger.debug("connection error", metadata: ["connection": "\(connection.id)", "error": "\(error)"])
            context.close(promise: nil)
        }
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
