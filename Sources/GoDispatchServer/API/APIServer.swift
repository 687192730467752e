import Foundation
import GoDispatchCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The backend listener (`api:`): `POST /api/<method>`, `/health`, `/ready` and `/metrics`, on its own
/// address, never the public WebSocket port; and, when `metrics.listen` is set, a second listener that
/// serves only `/metrics`. A swift-service-lifecycle `Service`: it keeps serving while the WebSocket
/// server drains (so `/ready` can say 503) and stops after it.
public final class APIServer: Service, Sendable {
    private let engine: Engine
    private let settings: APISettings?
    private let metricsSettings: MetricsSettings?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let routes: APIHTTPHandler.Routes?
    private let apiChannel = Locked<(any Channel)?>(nil)
    private let metricsChannel = Locked<(any Channel)?>(nil)

    /// The answer to `/ready`.
    public let readiness: Readiness
    /// `api.tls`: HTTPS on the API listener (the metrics-only listener stays plain HTTP).
    private let tls: ListenerTLS?

    /// The method names the API knows (metrics label the others `_unknown`).
    public static var methodNames: [String] { APIMethods.names }

    /// A listener for `engine`'s `api:` settings (nil: none) and `metrics:` (when set, `/metrics` moves
    /// there). `readiness` is the WebSocket server's; `metrics` renders `/metrics` (nil: not served);
    /// `observe` sees every API call.
    public init(
        engine: Engine, settings: APISettings?, metricsSettings: MetricsSettings? = nil, readiness: Readiness,
        metrics: (@Sendable () -> [UInt8])? = nil,
        observe: @escaping @Sendable (_ method: String, _ outcome: String, _ duration: Duration) -> Void = { _, _, _ in },
        tls: ListenerTLS? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.tls = tls
        self.engine = engine
        self.settings = settings
        self.metricsSettings = metricsSettings
        self.readiness = readiness
        self.group = group
        self.logger = logger
        let environment = ProcessInfo.processInfo.environment
        let node = NodeIdentity(
            name: environment["GODISPATCH_NODE_NAME"] ?? ProcessInfo.processInfo.hostName,
            uid: UUID().uuidString.lowercased(), started: .now)
        routes = settings.map { settings in
            APIHTTPHandler.Routes(
                methods: APIMethods(engine: engine, settings: settings, idempotency: IdempotencyCache(), node: node),
                keys: APIKeyRing(settings.keys), maxBodyBytes: settings.maxBodyBytes, readiness: readiness,
                metrics: metricsSettings == nil ? metrics : nil, observe: observe, adminMetrics: metrics)
        }
        metricsOnly = metricsSettings.map { _ in
            APIHTTPHandler.Routes(
                methods: nil, keys: APIKeyRing([]), maxBodyBytes: 0, readiness: readiness, metrics: metrics, observe: observe)
        }
    }

    private let metricsOnly: APIHTTPHandler.Routes?

    /// Binds the API listener and the metrics one (each when configured); port 0 picks a free one. An
    /// address that cannot be bound throws a ``ListenError`` naming it and `api.listen` or `metrics.listen`.
    public func start(host: String? = nil, port: Int? = nil, metricsPort: Int? = nil) async throws {
        if let settings, let routes {
            let api = try await bind(
                host: host ?? settings.host, port: port ?? settings.port, routes: routes, tls: tls, for: .api)
            apiChannel.withLock { $0 = api }
            logger.notice("API listening", metadata: ["address": "\(api.localAddress!)", "tls": "\(tls != nil)"])
        }
        if let metricsSettings, let metricsOnly {
            let metrics = try await bind(
                host: metricsSettings.host, port: metricsPort ?? metricsSettings.port, routes: metricsOnly,
                for: .metrics)
            metricsChannel.withLock { $0 = metrics }
            logger.notice("metrics listening", metadata: ["address": "\(metrics.localAddress!)"])
        }
    }

    private func bind(
        host: String, port: Int, routes: APIHTTPHandler.Routes, tls: ListenerTLS? = nil, for listener: ListenError.Listener
    ) async throws(ListenError) -> any Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // On the channel's loop, synchronously: the handler is never handed across threads.
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeHandler()) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(APIHTTPHandler(routes: routes))
                }
            }
        return try await WebSocketServer.bind(bootstrap, host: host, port: port, for: listener)
    }

    /// The API listener's port, once started.
    public var port: Int? { apiChannel.withLock { $0?.localAddress?.port } }
    /// The metrics listener's port, once started (when `metrics.listen` is set).
    public var metricsPort: Int? { metricsChannel.withLock { $0?.localAddress?.port } }

    /// Serves until graceful shutdown, then closes the listeners.
    public func run() async throws {
        if port == nil, metricsPort == nil { try await start() }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes the listeners (open keep-alive connections finish their current answer).
    public func shutdown() async {
        for holder in [apiChannel, metricsChannel] {
            let channel = holder.withLock { channel in
                defer { channel = nil }
                return channel
            }
            try? await channel?.close()
        }
    }
}
