import Foundation
import GoDispatchCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceLifecycle

/// The GoDispatch server: accepts WebSocket upgrades on `server.path`, runs each through the gateway,
/// and feeds accepted connections to the engine. A swift-service-lifecycle `Service`: graceful shutdown
/// stops accepting, closes every connection with 1001 and waits for them to go.
public final class WebSocketServer: Service, @unchecked Sendable {
    /// The engine connections are fed to.
    public let engine: Engine
    private let settings: ServerSettings
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let gateway: GatewayChain
    private let batchers: PerEventLoop<FlushBatcher>
    private let sweepers: PerEventLoop<ConnectionSweeper>
    private let logger: Logger
    private let serverChannel = Locked<(any Channel)?>(nil)
    private let shutdownTask = Locked<Task<Void, Never>?>(nil)
    private let leeway: TimeInterval
    private let gate: HandshakeGate
    /// `server.tls`: `wss://` (nil: plain `ws://`).
    private let tls: ListenerTLS?
    /// What the server counts (nil: nothing).
    public let metrics: GoDispatchMetrics?
    private let loopMetrics: PerEventLoop<LoopMetrics>?

    /// Whether new clients are welcome (the API's `/ready`): ready once bound, draining from the first
    /// moment of shutdown.
    public let readiness = Readiness()

    /// Builds a server for `engine` (whose fan-out should be ``makeFanOut()``), with the standard gateway:
    /// request logging, the per-address limits, the origin allow-list, the server's connection cap, JWT
    /// authentication, then the per-user connection limit. Sockets pass its ``HandshakeGate`` before all that.
    /// `clock` is the wall clock tokens are judged by (`exp`, `nbf`, expiry of open connections); tests
    /// inject their own. With `metrics` (whose ``GoDispatchMetrics/engine`` the engine should count into),
    /// the server counts connections, frames, bytes, errors and disconnects, and its scrapes read the
    /// engine's state.
    public init(
        engine: Engine, group: (any EventLoopGroup)? = nil, clock: @escaping @Sendable () -> Date = Date.init,
        metrics: GoDispatchMetrics? = nil, tls: ListenerTLS? = nil, logger: Logger
    ) async throws(TokenKeyError) {
        let config = engine.config.settings
        self.engine = engine
        self.tls = tls
        self.settings = config.server
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: EventLoopCount.forThisProcess)
        self.ownsGroup = group == nil
        self.batchers = PerEventLoop(group: self.group) { FlushBatcher(eventLoop: $0) }
        let (ping, idle) = (TimeAmount(checked: settings.pingInterval), TimeAmount(checked: settings.idleTimeout))
        self.sweepers = PerEventLoop(group: self.group) {
            ConnectionSweeper(eventLoop: $0, pingInterval: ping, idleTimeout: idle, clock: clock, logger: logger)
        }
        self.logger = logger
        self.gate = HandshakeGate(
            limit: settings.maxPendingHandshakes, timeout: TimeAmount(checked: settings.handshakeTimeout), logger: logger)
        self.metrics = metrics
        let loopGroup = self.group
        self.loopMetrics = metrics.map { metrics in PerEventLoop(group: loopGroup) { _ in metrics.makeLoopMetrics() } }
        metrics?.observe(state: engine.state, callouts: engine.httpCallouts, handshakes: gate)
        var middlewares: [any GatewayMiddleware] = [RequestLoggingMiddleware(logger: logger)]
        if let perIP = config.connections.perIP { middlewares.append(PerIPLimitMiddleware(settings: perIP)) }
        if !config.server.allowedOrigins.isEmpty {
            middlewares.append(OriginMiddleware(allowed: config.server.allowedOrigins))
        }
        if let maxTotal = config.connections.maxTotal {
            middlewares.append(ConnectionCapMiddleware(state: engine.state, maxTotal: maxTotal))
        }
        let verifier = try await TokenVerifier(settings: config.auth.jwt, now: clock)
        middlewares.append(JWTAuthMiddleware(verifier: verifier))
        engine.router.systemEvents.install(TokenRefreshHandler(verifier: verifier))
        self.leeway = verifier.leeway
        if let cluster = engine.broker as? RedisBroker {
            // Every node counts the user's connections on all nodes, and hears commands about the user.
            middlewares.append(
                ClusterAdmissionMiddleware(
                    broker: cluster, limit: config.connections.perUserLimit, strategy: config.connections.strategy))
            let readiness = self.readiness
            cluster.onAvailabilityChange { readiness.setBrokerAvailable($0) }
            readiness.setBrokerAvailable(cluster.isAvailable)
        } else if let limit = config.connections.perUserLimit {
            middlewares.append(
                ConnectionLimitMiddleware(state: engine.state, limit: limit, strategy: config.connections.strategy))
        }
        self.gateway = GatewayChain(middlewares)
    }

    /// The fan-out the engine should use with this server: grouped per event loop, shared frames.
    public static func makeFanOut() -> any FrameFanOut { LoopGroupedFanOut() }

    /// Receive buffer sizing: 512 bytes to start, doubling for clients whose reads fill it, up to 64 KiB.
    static let receiveBuffer = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536)

    /// Binds to `host:port` (port 0 picks a free one) and returns the bound address. An address that cannot
    /// be bound throws a ``ListenError`` naming it and `server.listen`.
    @discardableResult
    public func start(host: String? = nil, port: Int? = nil) async throws -> SocketAddress {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Each channel keeps its receive buffer between reads: start small (most clients send small
            // messages, and an idle connection should cost little), let busy ones grow it.
            .childChannelOption(.recvAllocator, value: Self.receiveBuffer)
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: settings.maxOutboundBytes / 2, high: settings.maxOutboundBytes))
            .childChannelInitializer { [self] channel in initialize(channel) }
        let channel = try await Self.bind(
            bootstrap, host: host ?? settings.host, port: port ?? settings.port, for: .server)
        serverChannel.withLock { $0 = channel }
        readiness.markReady()
        let address = channel.localAddress!
        logger.notice("listening", metadata: ["address": "\(address)", "path": "\(settings.path)", "tls": "\(tls != nil)"])
        return address
    }

    /// Binds `bootstrap` to `host:port` for `listener`; a refusal (address in use, privileged port, unknown
    /// host…) becomes a ``ListenError`` instead of NIO's raw `bind(descriptor:ptr:bytes:)` error.
    static func bind(_ bootstrap: ServerBootstrap, host: String, port: Int, for listener: ListenError.Listener)
        async throws(ListenError) -> any Channel
    {
        do {
            return try await bootstrap.bind(host: host, port: port).get()
        } catch let error as IOError {
            throw ListenError(listener: listener, host: host, port: port, errno: error.errnoCode, detail: "\(error)")
        } catch let error as SocketAddressError {
            throw ListenError(listener: listener, host: host, port: port, kind: .unresolvedHost, detail: "\(error)")
        } catch {
            throw ListenError(listener: listener, host: host, port: port, kind: .other, detail: "\(error)")
        }
    }

    /// Binds every address at once, then releases them all: `serve` calls it before loading plugins, so an
    /// address in use fails start-up at once (and two listeners given one address fail too). Should another
    /// process take an address between this check and the real bind, that bind throws the same
    /// ``ListenError``. Port 0 always binds and is skipped.
    public static func checkAddresses(
        _ addresses: [(listener: ListenError.Listener, host: String, port: Int)],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(ListenError) {
        var bound: [any Channel] = []
        do {
            for address in addresses where address.port != 0 {
                let bootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                bound.append(try await bind(bootstrap, host: address.host, port: address.port, for: address.listener))
            }
        } catch {
            for channel in bound { try? await channel.close() }
            throw error
        }
        for channel in bound { try? await channel.close() }
    }

    /// The bound port, once started.
    public var port: Int? { serverChannel.withLock { $0?.localAddress?.port } }

    /// Sockets accepted and not yet upgraded (nor answered and closed).
    public var pendingHandshakes: Int { gate.pending }
    /// Sockets closed at accept since start because `server.max_pending_handshakes` were pending.
    public var refusedHandshakes: Int { gate.refused }
    /// Sockets closed since start because they did not finish their handshake in `server.handshake_timeout`.
    public var timedOutHandshakes: Int { gate.timedOut }

    /// Sets up an accepted socket: through the ``HandshakeGate`` (or closed at once when it is full), then
    /// HTTP with the WebSocket upgrade.
    private func initialize(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard let ticket = gate.admit(channel) else {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(RefusedSocketHandler())
            }
        }
        let context = UpgradeContext(handshake: ticket, eventLoop: channel.eventLoop)
        let upgrader = WebSocketUpgrader(
            shouldUpgrade: { [self] channel, head in shouldUpgrade(channel, head, context) },
            install: { [self] channel in upgraded(channel, context) }
        )
        let path = settings.path
        // All on the channel's loop, synchronously: the fallback handler never leaves it (the upgrade's
        // completion runs there too, which its NIOLoopBound checks).
        let tls = self.tls
        return channel.eventLoop.makeCompletedFuture {
            if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeHandler()) }
            let fallback = HTTPFallbackHandler(upgrade: context, webSocketPath: path)
            let bound = NIOLoopBound(fallback, eventLoop: channel.eventLoop)
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                    context.pipeline.syncOperations.removeHandler(bound.value, promise: nil)
                })
            )
            try channel.pipeline.syncOperations.addHandler(fallback)
        }
    }

    private func shouldUpgrade(_ channel: any Channel, _ head: HTTPRequestHead, _ context: UpgradeContext)
        -> EventLoopFuture<HTTPHeaders?>
    {
        var request = RequestMetadata(
            id: String(UInt32.random(in: 0...UInt32.max), radix: 16),
            remoteAddress: channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown",
            uri: head.uri, headers: head.headers)
        request.peerAddress = channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)
        guard request.path == settings.path else { return channel.eventLoop.makeSucceededFuture(nil) }
        let (gateway, metadata) = (self.gateway, request)
        return channel.eventLoop.makeFutureWithTask { await gateway.decide(metadata) }.map { decision in
            switch decision {
            case .upgrade(let accepted):
                context.accepted = accepted
                let leases = accepted.leases
                if !leases.isEmpty {
                    channel.closeFuture.whenComplete { _ in leases.forEach { $0.release() } }
                }
                // No Sec-WebSocket-Extensions: every extension offered (permessage-deflate…) is declined,
                // so a frame with a reserved bit set is a protocol error (1002).
                return HTTPHeaders()
            case .reject(let rejection):
                self.metrics?.connectionRejected(rejection.kind)
                context.rejection = rejection
                return nil
            }
        }
    }

    private func upgraded(_ channel: any Channel, _ context: UpgradeContext) -> EventLoopFuture<Void> {
        context.handshake?.finish()
        // A socket that closed while the gateway decided (or timed out) never becomes a connection: its
        // handlers would not see it go inactive.
        guard channel.isActive else { return channel.eventLoop.makeSucceededVoidFuture() }
        guard let request = context.accepted, let identity = request.identity else {
            return channel.close()
        }
        // Frames go straight to the socket — or, with TLS, through the channel to the TLS handler that
        // encrypts them.
        let socket = tls == nil ? DirectSocket(channel: channel) : nil
        let transport = ChannelTransport(
            channel: channel, socket: socket,
            batcher: batchers[channel.eventLoop], sweeper: sweepers[channel.eventLoop],
            metrics: loopMetrics?[channel.eventLoop])
        let connection = engine.state.connect(
            id: request.connectionID, userID: identity.userID, permissions: identity.permissions, claims: identity.claims, transport: transport)
        if request.evictOldest > 0 {
            let limit = engine.config.settings.connections.perUserLimit ?? 0
            for old in connection.user.connections.prefix(request.evictOldest) where old !== connection {
                old.transport.close(code: 4001, reason: "replaced by a newer connection (limit \(limit) per user)")
            }
        }
        transport.scheduleExpiry(at: identity.expiresAt, leeway: leeway)
        let handler = WebSocketConnectionHandler(
            connection: connection, transport: transport, router: engine.router, maxMessageBytes: settings.maxMessageBytes)
        do {
            try channel.pipeline.syncOperations.addHandler(handler)
            metrics?.connectionAccepted()
            engine.router.connected(connection)
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            transport.channelClosed()
            engine.state.disconnect(connection)
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    /// Runs until graceful shutdown (SIGINT/SIGTERM through a ServiceGroup), then shuts down.
    public func run() async throws {
        if port == nil { try await start() }
        let channel = serverChannel.withLock { $0 }
        try await withGracefulShutdownHandler {
            try await channel?.closeFuture.get()
        } onGracefulShutdown: { [self] in
            Task { await shutdown() }
        }
        await shutdown()
    }

    /// Turns `/ready` to 503 at once, keeps accepting for `server.drain_delay` (so load balancers see it
    /// first), then stops accepting, closes every connection with 1001 ("going away"), waits up to
    /// `server.shutdown_timeout` for the close handshakes and for plugins' HTTP callouts still under way
    /// (a `_webhook` a disconnect pipeline just queued, say), then stops the event loops it owns.
    /// Every caller awaits the same shutdown.
    public func shutdown() async {
        let task = shutdownTask.withLock { task in
            if task == nil { task = Task { await self.performShutdown() } }
            return task!
        }
        await task.value
    }

    private func performShutdown() async {
        readiness.markDraining()
        // `server.shutdown_timeout` counts from the signal, drain included (the config keeps the delay shorter).
        let deadline = ContinuousClock.now + settings.shutdownTimeout
        let drainDelay = min(settings.drainDelay, settings.shutdownTimeout)
        if drainDelay > .zero, serverChannel.withLock({ $0 != nil }) {
            logger.notice("draining: /ready answers 503", metadata: ["drain_delay": "\(drainDelay)"])
            try? await Task.sleep(for: drainDelay)
        }
        let channel = serverChannel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        guard let channel else { return }
        logger.notice("shutting down", metadata: ["connections": "\(engine.state.connectionCount)"])
        try? await channel.close()
        for connection in engine.state.allConnections {
            connection.transport.close(code: 1001, reason: "server shutting down")
        }
        while engine.state.connectionCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = await engine.httpCallouts.drain(timeout: max(.zero, deadline - ContinuousClock.now))
        if left > 0 { logger.warning("shutdown: HTTP callouts still under way are abandoned", metadata: ["count": "\(left)"]) }
        if ownsGroup { try? await group.shutdownGracefully() }
        logger.notice("stopped")
    }
}
