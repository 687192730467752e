import NIOCore

/// A command on its way to the socket, with the promise its reply completes (nil: no reply is matched,
/// e.g. SUBSCRIBE, which Redis confirms with push messages).
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    var promise: EventLoopPromise<RESPValue>?
}

/// Matches replies to commands first in, first out, which is what makes pipelining work: Redis answers
/// every connection's commands in order.
///
/// On a subscriber connection, pub/sub push messages (`message`, `subscribe`, …) go to `onPush` instead.
/// When the channel goes away every pending command fails at once with `RedisError.connectionLost`, and
/// a command written after that fails immediately: nothing waits for a reply that cannot come.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>(initialCapacity: 32)
    private var isGone = false
    private let onPush: ((RESPValue) -> Void)?

    /// A handler for a command connection (`onPush` nil) or a subscriber connection.
    init(onPush: ((RESPValue) -> Void)? = nil) {
        self.onPush = onPush
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        guard !isGone else {
            request.promise?.fail(RedisError.connectionLost)
            promise?.fail(RedisError.connectionLost)
            return
        }
        if let reply = request.promise { pending.append(reply) }
        context.write(Self.wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = Self.unwrapInboundIn(data)
        if let onPush, Self.isPush(value) {
            onPush(value)
            return
        }
        guard let promise = pending.popFirst() else {
            fail(context: context, error: .protocolViolation("a reply with no command waiting for it: \(value)"))
            return
        }
        if case .error(let message) = value {
            promise.fail(RedisError.server(message))
        } else {
            promise.succeed(value)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionLost)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError.connectionLost)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error: error as? RedisError ?? .connectionLost)
    }

    /// Fails the oldest command with `error` (the reply it was waiting for is the broken one), the rest
    /// with `connectionLost`, and closes the channel so the connection reconnects.
    private func fail(context: ChannelHandlerContext, error: RedisError) {
        pending.popFirst()?.fail(error)
        failAll(RedisError.connectionLost)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        isGone = true
        while let promise = pending.popFirst() { promise.fail(error) }
    }

    /// Pub/sub messages are arrays whose first element names their kind.
    private static func isPush(_ value: RESPValue) -> Bool {
        guard case .array(let elements?) = value, case .bulkString(let kind?)? = elements.first else { return false }
        switch kind.readableBytes {
        case 7, 8, 9, 10, 11, 12:
            return ["message", "pmessage", "subscribe", "unsubscribe", "psubscribe", "punsubscribe"]
                .contains(String(buffer: kind))
        default: return false
        }
    }
}
