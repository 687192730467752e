import NIOCore

/// Installed alone on a socket the ``HandshakeGate`` refused: closes it as soon as it is active, unread.
final class RefusedSocketHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}
