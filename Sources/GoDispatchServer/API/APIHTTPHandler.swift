import GoDispatchCore
import NIOCore
import NIOHTTP1

/// Serves one HTTP/1.1 connection of the API listener: collects each request (up to
/// `api.max_body_bytes`), checks the key, routes it and writes the answer. Keep-alive and pipelining
/// work (NIO's server pipeline orders the answers). Routes:
/// - `POST /api/<method>` — needs `X-API-Key`; 401 without a valid one, 413 for a body over the limit,
///   otherwise 200 with `{"result":…}` or `{"error":…}`;
/// - `GET /health` — 200 while the process runs; `GET /ready` — 200 once ready, 503 while draining;
/// - `GET /metrics` — the Prometheus text, when this listener serves it;
/// - `GET /admin` — the live dashboard (a page without data; it asks for an API key), whose script reads
///   `GET /admin/overview` (JSON) and `GET /admin/metrics` (the Prometheus text), both behind `X-API-Key`.
final class APIHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What the listener serves.
    struct Routes: Sendable {
        /// The API methods (nil on a metrics-only listener).
        let methods: APIMethods?
        /// The keys `/api/*` accepts.
        let keys: APIKeyRing
        /// Largest body accepted.
        let maxBodyBytes: Int
        /// Whether the server wants clients (`/ready`).
        let readiness: Readiness
        /// The `/metrics` text, when served here.
        let metrics: (@Sendable () -> [UInt8])?
        /// Called once per API call with the method's label, the outcome and how long it took.
        let observe: @Sendable (_ method: String, _ outcome: String, _ duration: Duration) -> Void
        /// The Prometheus text for the dashboard (`/admin/metrics`), wherever `/metrics` is served.
        var adminMetrics: (@Sendable () -> [UInt8])? = nil
    }

    private enum State {
        /// Between requests.
        case idle
        /// Reading a request's body.
        case reading(HTTPRequestHead, ByteBuffer)
        /// The request was answered early (401, 413, 404…): its body is read and dropped.
        case discarding
    }

    private let routes: Routes
    private var state = State.idle

    init(routes: Routes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let early = earlyAnswer(head) {
                state = .discarding
                respond(context: context, head: head, status: early.status, body: early.body, close: early.close)
            } else {
                state = .reading(head, context.channel.allocator.buffer(capacity: 0))
            }
        case .body(var chunk):
            guard case .reading(let head, var body) = state else { return }
            guard body.readableBytes + chunk.readableBytes <= routes.maxBodyBytes else {
                state = .discarding
                respond(context: context, head: head, status: .payloadTooLarge, body: tooLarge, close: true)
                return
            }
            state = .idle  // drop the reference while appending, so the buffer is not copied
            body.writeBuffer(&chunk)
            state = .reading(head, body)
        case .end:
            guard case .reading(let head, let body) = state else {
                state = .idle
                return
            }
            state = .idle
            handle(context: context, head: head, body: body)
        }
    }

    private var tooLarge: [UInt8] {
        APIReply.error(APIError(.limitExceeded, "the body is over api.max_body_bytes (\(routes.maxBodyBytes) bytes)")).body
    }

    /// The answer a request gets from its head alone, if any: a wrong route or method, a missing or
    /// wrong key, a body announced over the limit.
    private func earlyAnswer(_ head: HTTPRequestHead) -> (status: HTTPResponseStatus, body: [UInt8], close: Bool)? {
        let path = Self.path(head.uri)
        guard path.hasPrefix("/api/") else {
            switch (head.method, path) {
            case (.GET, "/health"), (.HEAD, "/health"):
                return (.ok, Array("{\"status\":\"ok\"}".utf8), false)
            case (.GET, "/ready"), (.HEAD, "/ready"):
                let readiness = routes.readiness
                let text = "{\"status\":\"\(readiness.status)\"}"
                return (readiness.isReady ? .ok : .serviceUnavailable, Array(text.utf8), false)
            case (.GET, "/metrics"):
                guard let metrics = routes.metrics else { break }
                return (.ok, metrics(), false)
            case (.GET, "/admin"), (.HEAD, "/admin"):
                guard routes.methods != nil else { break }
                return (.ok, AdminPage.html, false)
            case (.GET, "/admin/overview"), (.GET, "/admin/metrics"):
                guard let methods = routes.methods else { break }
                guard routes.keys.accepts(head.headers.first(name: "X-API-Key")) else {
                    return (.unauthorized, APIReply.error(APIError(.unauthorized, "missing or wrong X-API-Key header")).body, false)
                }
                if path == "/admin/overview" { return (.ok, methods.adminOverview(), false) }
                return (.ok, routes.adminMetrics?() ?? [], false)
            default: break
            }
            return (.notFound, APIReply.error(APIError(.notFound, "no route \(head.method) \(path)", reason: "not_found")).body, false)
        }
        guard routes.methods != nil else {
            return (.notFound, APIReply.error(APIError(.notFound, "this listener serves /metrics only")).body, false)
        }
        guard routes.keys.accepts(head.headers.first(name: "X-API-Key")) else {
            return (.unauthorized, APIReply.error(APIError(.unauthorized, "missing or wrong X-API-Key header")).body, false)
        }
        guard head.method == .POST else {
            return (.methodNotAllowed, APIReply.error(.badRequest("API methods are called with POST")).body, false)
        }
        if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > routes.maxBodyBytes {
            return (.payloadTooLarge, tooLarge, true)
        }
        return nil
    }

    /// The `Content-Type` of a successful answer on `path` (errors are JSON).
    private static func contentType(path: String, status: HTTPResponseStatus) -> String {
        guard status == .ok else { return "application/json" }
        switch path {
        case "/metrics", "/admin/metrics": return "text/plain; version=0.0.4; charset=utf-8"
        case "/admin": return "text/html; charset=utf-8"
        default: return "application/json"
        }
    }

    private static func path(_ uri: String) -> String {
        uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
    }

    private func handle(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer) {
        guard let methods = routes.methods else { return }
        let method = String(Self.path(head.uri).dropFirst("/api/".count))
        let started = ContinuousClock.now
        let reply: EventLoopFuture<APIReply>
        do throws(APIError) {
            let parsed = try APIRequestBody(parsing: Array(body.readableBytesView))
            reply = methods.call(method, parsed, on: context.eventLoop)
        } catch {
            reply = context.eventLoop.makeSucceededFuture(.error(error))
        }
        let observe = routes.observe
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        reply.whenComplete { result in
            let (handler, context) = bound.value
            let answer: APIReply
            switch result {
            case .success(let value): answer = value
            case .failure(let error): answer = .error(APIError(.internalError, "\(error)"))
            }
            observe(APIMethods.label(method), answer.outcome, ContinuousClock.now - started)
            handler.respond(context: context, head: head, status: .ok, body: answer.body, close: false)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, body: [UInt8], close: Bool) {
        let keepAlive = head.isKeepAlive && !close
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: Self.contentType(path: Self.path(head.uri), status: status))
        if Self.path(head.uri).hasPrefix("/admin") {
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "X-Frame-Options", value: "DENY")
            headers.add(name: "X-Content-Type-Options", value: "nosniff")
            headers.add(
                name: "Content-Security-Policy",
                value: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
        }
        headers.add(name: "Content-Length", value: String(body.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive { done.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
    }
}
