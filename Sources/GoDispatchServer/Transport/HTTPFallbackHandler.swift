import NIOCore
import NIOHTTP1

/// Answers every HTTP request that does not become a WebSocket: gateway refusals with their status and
/// reason, `/healthz` with 200, the WebSocket path without an upgrade with 426, anything else with 404.
final class HTTPFallbackHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let upgrade: UpgradeContext
    private let webSocketPath: String
    private var head: HTTPRequestHead?

    init(upgrade: UpgradeContext, webSocketPath: String) {
        self.upgrade = upgrade
        self.webSocketPath = webSocketPath
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            let path = head?.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
            if let rejection = upgrade.rejection {
                respond(context, rejection.status, rejection.reason)
            } else if path == "/healthz" {
                respond(context, .ok, "ok")
            } else if path == webSocketPath {
                respond(context, .upgradeRequired, "this path speaks WebSocket: send an upgrade request")
            } else {
                respond(context, .notFound, "not found")
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ reason: String) {
        var body = context.channel.allocator.buffer(capacity: reason.utf8.count + 1)
        body.writeString(reason + "\n")
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "connection", value: "close")
        let version = head?.version ?? .http1_1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }
}

/// What the gateway decided for one channel's upgrade request; bound to the channel's loop.
final class UpgradeContext: Sendable {
    private struct Decision {
        var accepted: RequestMetadata?
        var rejection: GatewayRejection?
    }

    private let decision: NIOLoopBoundBox<Decision>
    /// The channel's place in the handshake, finished once it is upgraded.
    let handshake: HandshakeTicket?

    /// A context for a channel on `eventLoop`.
    init(handshake: HandshakeTicket?, eventLoop: any EventLoop) {
        self.handshake = handshake
        decision = NIOLoopBoundBox.makeBoxSendingValue(Decision(), eventLoop: eventLoop)
    }

    /// The accepted request (with its identity), once the gateway said yes.
    var accepted: RequestMetadata? {
        get { decision.value.accepted }
        set { decision.value.accepted = newValue }
    }

    /// Why the gateway said no, once it did.
    var rejection: GatewayRejection? {
        get { decision.value.rejection }
        set { decision.value.rejection = newValue }
    }
}
