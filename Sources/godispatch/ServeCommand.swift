import ArgumentParser
import GoDispatchCore
import GoDispatchRedis
import GoDispatchServer
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `godispatch serve`: run the server until SIGINT/SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the configuration's events over WebSocket.",
        discussion: """
            Before loading any plugin, serve checks that every listen address
            (server.listen, api.listen, metrics.listen) can be bound and that the
            plugins directory holds plugins.

            Exit status: 0 after a graceful shutdown (SIGINT/SIGTERM), 2 when it
            cannot start (configuration, plugins, or an address it cannot bind).
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Listen host (overrides server.listen).")
    var host: String?

    @Option(name: .long, help: "Listen port, 0 for any free port (overrides server.listen).")
    var port: Int?

    @Option(name: .long, help: "API listen port, 0 for any free port (overrides api.listen).")
    var apiPort: Int?

    @Option(name: .long, help: "Metrics listen port, 0 for any free port (overrides metrics.listen).")
    var metricsPort: Int?

    @OptionGroup var pluginOptions: PluginOptions

    @Flag(name: .long, help: "Reload the configuration when the file changes (SIGHUP always reloads).")
    var watch = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let logger = Defaults.bootstrapLogging(level: logLevel)
        var settings = try Defaults.loadConfig(config)
        if let host { settings.server.host = host }
        if let port { settings.server.port = port }
        if let apiPort { settings.api?.port = apiPort }
        if let metricsPort { settings.metrics?.port = metricsPort }
        // Before any plugin loads: an address in use or a wrong plugins directory stops start-up at once.
        do {
            try await WebSocketServer.checkAddresses(Self.listeners(settings))
        } catch {
            Defaults.printErrors(error.description)
            throw ExitCode(2)
        }
        try Defaults.checkPluginsDirectory(settings, override: pluginOptions.plugins)
        // One loop per CPU this process may run on, shared by the WebSocket server, the API and the cluster broker; shut down once
        // all have stopped.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: EventLoopCount.forThisProcess)
        let cluster: RedisBroker?
        switch settings.broker.kind {
        case .memory:
            cluster = nil
        case .redis:
            do {
                cluster = RedisBroker(settings: settings.broker, url: try RedisURL(settings.broker.url), group: loops, logger: logger)
            } catch {
                let location = settings.broker.urlLocation.map { "\($0): " } ?? "\(config): "
                Defaults.printErrors("\(location)`broker.url`: \(error)")
                throw ExitCode(2)
            }
        }
        let engine: Engine
        let metrics = GoDispatchMetrics(apiMethods: Set(APIServer.methodNames))
        do {
            engine = try Engine(
                settings: settings, pluginsDirectory: pluginOptions.plugins,
                // In a cluster the state core's presence is the cluster's (mirrored per room from Redis).
                state: InMemoryStateManager(presence: cluster?.presenceStore ?? InMemoryPresenceStore()),
                fanOut: WebSocketServer.makeFanOut(),
                httpCallout: AsyncHTTPCallout(group: MultiThreadedEventLoopGroup.singleton, logger: logger),
                metrics: metrics.engine, broker: cluster ?? MemoryBroker(), logger: logger)
        } catch {
            Defaults.printErrors(error.description)
            throw ExitCode(2)
        }
        for plugin in engine.plugins.plugins {
            logger.info(
                "plugin loaded",
                metadata: ["name": "\(plugin.name)", "version": "\(plugin.version)", "file": "\(plugin.file)"])
        }
        let serverTLS: ListenerTLS?
        let apiTLS: ListenerTLS?
        do {
            serverTLS = try settings.server.tls.map(ListenerTLS.init)
            apiTLS = try settings.api?.tls.map(ListenerTLS.init)
        } catch {
            Defaults.printErrors(error.description)
            throw ExitCode(2)
        }
        let overrides = (host: host, port: port)
        let reloader = ConfigReloader(
            engine: engine, file: config, logger: logger,
            adjust: { settings in
                if let host = overrides.host { settings.server.host = host }
                if let port = overrides.port { settings.server.port = port }
            },
            applied: { settings in
                // New connections use certificates read again now; turning TLS on or off needs a restart.
                for (listener, tls, files) in [("server.tls", serverTLS, settings.server.tls), ("api.tls", apiTLS, settings.api?.tls)] {
                    guard let tls, let files else { continue }
                    do {
                        try tls.reload(files)
                        logger.notice("TLS certificates read again", metadata: ["listener": "\(listener)"])
                    } catch {
                        logger.error("TLS reload failed; new connections keep the previous certificate", metadata: ["error": "\(error)"])
                    }
                }
            })
        reloader.reloadOnSIGHUP()
        if watch { reloader.watch() }
        let server: WebSocketServer
        do {
            server = try await WebSocketServer(engine: engine, group: loops, metrics: metrics, tls: serverTLS, logger: logger)
        } catch {
            Defaults.printErrors(error.description)
            throw ExitCode(2)
        }
        // The API starts first and stops last: it answers /ready with 503 while the WebSocket server drains.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        do {
            if settings.api != nil || settings.metrics != nil {
                let apiServer = APIServer(
                    engine: engine, settings: settings.api, metricsSettings: settings.metrics, readiness: server.readiness,
                    metrics: { metrics.render() },
                    observe: { method, result, duration in
                        metrics.recordAPIRequest(method: method, result: result, duration: duration)
                    },
                    tls: apiTLS, group: loops, logger: logger)
                try await apiServer.start()
                services.append(.init(service: apiServer))
            }
            let address = try await server.start()
            if let cluster {
                let name = settings.broker.nodeName.isEmpty ? "\(settings.server.host):\(address.port ?? settings.server.port)" : settings.broker.nodeName
                await cluster.start(nodeName: name, node: engine.router.services.here)
            }
        } catch {
            // A ListenError: an address taken since checkAddresses, say.
            Defaults.printErrors("\(error)")
            throw ExitCode(2)
        }
        services.append(.init(service: server))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await cluster?.close()
        try? await loops.shutdownGracefully()
    }

    /// The addresses `settings` listens on, each with its listener (port 0 included: it is not checked).
    static func listeners(_ settings: EngineConfig) -> [(listener: ListenError.Listener, host: String, port: Int)] {
        var addresses: [(listener: ListenError.Listener, host: String, port: Int)] = [
            (.server, settings.server.host, settings.server.port)
        ]
        if let api = settings.api { addresses.append((.api, api.host, api.port)) }
        if let metrics = settings.metrics { addresses.append((.metrics, metrics.host, metrics.port)) }
        return addresses
    }
}
