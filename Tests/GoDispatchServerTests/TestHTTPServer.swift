import GoDispatchTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP server on 127.0.0.1 for webhook tests: records every request and answers as the test says.
final class TestHTTPServer: Sendable {
    struct Request: Sendable {
        let method: String
        let uri: String
        let headers: HTTPHeaders
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// How to answer the n-th request (0-based): status, body, and a delay before answering.
    typealias Responder = @Sendable (_ index: Int, _ request: Request) -> (status: Int, body: String, delay: Duration)

    let requests = Mailbox<Request>()
    let port: Int
    private let channel: any Channel

    init(responder: @escaping Responder) async throws {
        let counter = Counter()
        let requests = self.requests
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(counter: counter, requests: requests, responder: responder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    func stop() async { try? await channel.close() }

    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let counter: Counter
        let requests: Mailbox<Request>
        let responder: Responder
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(counter: Counter, requests: Mailbox<Request>, responder: @escaping Responder) {
            self.counter = counter
            self.requests = requests
            self.responder = responder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head else { return }
                let request = Request(method: "\(head.method)", uri: head.uri, headers: head.headers, body: body)
                requests.put(request)
                let answer = responder(counter.next(), request)
                let channel = context.channel
                channel.eventLoop.scheduleTask(in: .nanoseconds(answer.delay.components.seconds * 1_000_000_000 + answer.delay.components.attoseconds / 1_000_000_000)) {
                    var headers = HTTPHeaders()
                    headers.add(name: "content-type", value: "application/json")
                    headers.add(name: "content-length", value: "\(answer.body.utf8.count)")
                    let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: answer.status), headers: headers)
                    channel.write(HTTPServerResponsePart.head(head), promise: nil)
                    channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: answer.body))), promise: nil)
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
                }
            }
        }
    }
}
