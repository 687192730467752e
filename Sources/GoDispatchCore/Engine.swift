import Logging

/// The engine without the network: loaded plugins, the compiled configuration, the state core and
/// the router. The server layer feeds it connections and messages.
public final class Engine: Sendable {
    private let pluginHost: Locked<PluginHost>
    private let pluginsDirectoryOverride: String?

    /// The loaded plugins and their actions.
    public var plugins: PluginHost { pluginHost.withLock { $0 } }
    /// The compiled configuration new messages use.
    public var config: CompiledConfig { router.config }
    /// The state core.
    public let state: any StateManager
    /// The router messages go through.
    public let router: Router
    /// What a backend may ask through the API (publish, notify a user, joins, disconnects, …).
    public var backend: BackendCommands { BackendCommands(services: router.services) }
    /// What the engine counts (nil: nothing).
    public let metrics: EngineMetrics?
    /// What carries frames and commands to the other nodes (the memory broker: there are none).
    public var broker: any Broker { router.services.broker }
    /// Plugins' HTTP callouts (one gate per process), bounded by `plugins.http.max_in_flight`.
    public var httpCallouts: HTTPCalloutGate { HostTable.httpCallouts }

    /// Loads the plugins of `settings.plugins.directory` (or `pluginsDirectory`), then compiles the
    /// configuration. Throws ``EngineStartError`` listing every problem. `httpCallout` is bounded by
    /// `plugins.http.max_in_flight`; `clock` is what rate limits are judged by. With `metrics`, the
    /// router and pipelines count into it. `broker` carries rooms and commands to other nodes (by
    /// default there are none).
    public init(
        settings: EngineConfig, pluginsDirectory: String? = nil, state: any StateManager = InMemoryStateManager(),
        fanOut: any FrameFanOut = DirectFanOut(), httpCallout: (any HTTPCallout)? = nil,
        observer: (any PipelineObserver)? = nil, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        metrics: EngineMetrics? = nil, broker: any Broker = MemoryBroker(), logger: Logger
    ) throws(EngineStartError) {
        HostTable.pluginLogger.withLock { $0 = logger }
        HostTable.httpCallouts.configure(client: httpCallout, maxInFlight: settings.plugins.maxHTTPInFlight, logger: logger)
        var host = PluginHost()
        let refusals = (pluginsDirectory.map { [$0] } ?? settings.plugins.directories).flatMap { host.loadDirectory($0) }
        // Compile even when a plugin was refused, so one run reports every problem.
        let compiled: CompiledConfig
        do {
            compiled = try PipelineCompiler(registry: host.registry, metrics: metrics).compile(settings)
        } catch {
            throw EngineStartError(plugins: refusals, config: error)
        }
        if !refusals.isEmpty { throw EngineStartError(plugins: refusals, config: nil) }
        pluginHost = Locked(host)
        pluginsDirectoryOverride = pluginsDirectory
        self.state = state
        self.metrics = metrics
        let limits = EngineLimits(maxRoomsPerConnection: settings.connections.maxRoomsPerConnection)
        router = Router(
            config: compiled,
            services: EngineServices(
                state: state, fanOut: fanOut, logger: logger, limits: limits, observer: observer, clock: clock,
                metrics: metrics, broker: broker))
        state.setPresenceListener(PresenceBroadcaster(fanOut: fanOut))
        state.setMembershipObserver(broker)
    }
}

extension Engine {
    /// What a reload changed.
    public struct ReloadReport: Sendable, Equatable {
        /// Events that are new.
        public var added: [String]
        /// Events that are gone.
        public var removed: [String]
        /// Events whose definition changed.
        public var changed: [String]
        /// Plugin files loaded by this reload.
        public var newPlugins: [String]
        /// Settings that differ but only take effect after a restart (listen address, path, …).
        public var ignoredUntilRestart: [String]
        /// Server events (`server_events:`) that are new.
        public var serverEventsAdded: [String] = []
        /// Server events that are gone.
        public var serverEventsRemoved: [String] = []
        /// Server events whose definition changed.
        public var serverEventsChanged: [String] = []
    }

    /// Loads new plugin files, compiles `settings` off to the side and, only if everything succeeds,
    /// swaps it in atomically. On any error the running configuration stays and the errors are thrown.
    /// Connections stay open; pipelines already running finish on the configuration they started with.
    public func reload(_ settings: EngineConfig) throws(EngineStartError) -> ReloadReport {
        let old = router.config.settings
        var newPlugins: [String] = []
        let (registry, refusals) = pluginHost.withLock { host -> (ActionRegistry, [PluginLoadError]) in
            let before = Set(host.plugins.map(\.file))
            let refusals = (pluginsDirectoryOverride.map { [$0] } ?? settings.plugins.directories).flatMap { host.loadDirectory($0) }
            newPlugins = host.plugins.map(\.file).filter { !before.contains($0) }
            return (host.registry, refusals)
        }
        let compiled: CompiledConfig
        do {
            compiled = try PipelineCompiler(registry: registry, metrics: metrics).compile(settings)
        } catch {
            throw EngineStartError(plugins: refusals, config: error)
        }
        if !refusals.isEmpty { throw EngineStartError(plugins: refusals, config: nil) }
        router.replaceConfig(compiled)
        httpCallouts.setLimit(settings.plugins.maxHTTPInFlight)
        let events = EventDefinition.changes(from: old.events, to: settings.events)
        let serverEvents = EventDefinition.changes(from: old.serverEvents, to: settings.serverEvents)
        var ignored: [String] = []
        if old.server.host != settings.server.host || old.server.port != settings.server.port { ignored.append("server.listen") }
        if old.server.path != settings.server.path { ignored.append("server.path") }
        if old.server.maxMessageBytes != settings.server.maxMessageBytes { ignored.append("server.max_message_bytes") }
        if old.auth.jwt.secret != settings.auth.jwt.secret || old.auth.jwt.algorithms != settings.auth.jwt.algorithms
            || old.auth.jwt.publicKeyFile != settings.auth.jwt.publicKeyFile || old.auth.jwt.jwksFile != settings.auth.jwt.jwksFile
        {
            ignored.append("auth.jwt")
        }
        if old.server.allowedOrigins != settings.server.allowedOrigins { ignored.append("server.allowed_origins") }
        if old.broker != settings.broker { ignored.append("broker") }
        // The files of a `tls:` block are read again on every reload; turning TLS on or off, or naming other
        // files, needs a restart.
        if old.server.tls?.certFile != settings.server.tls?.certFile || old.server.tls?.keyFile != settings.server.tls?.keyFile {
            ignored.append("server.tls")
        }
        if old.server.handshakeTimeout != settings.server.handshakeTimeout
            || old.server.maxPendingHandshakes != settings.server.maxPendingHandshakes
        {
            ignored.append("server.handshake_timeout, server.max_pending_handshakes")
        }
        if old.connections.perUserLimit != settings.connections.perUserLimit || old.connections.strategy != settings.connections.strategy
            || old.connections.maxTotal != settings.connections.maxTotal
            || old.connections.maxRoomsPerConnection != settings.connections.maxRoomsPerConnection
            || old.connections.perIP != settings.connections.perIP
        {
            ignored.append("connections (limits)")
        }
        return ReloadReport(
            added: events.added, removed: events.removed, changed: events.changed, newPlugins: newPlugins,
            ignoredUntilRestart: ignored, serverEventsAdded: serverEvents.added, serverEventsRemoved: serverEvents.removed,
            serverEventsChanged: serverEvents.changed)
    }
}

extension EventDefinition {
    /// The names added, removed and changed between two lists of definitions, each sorted.
    static func changes(from old: [EventDefinition], to new: [EventDefinition])
        -> (added: [String], removed: [String], changed: [String])
    {
        let before = Dictionary(old.map { ($0.name, $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.map { ($0.name, $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
        return (
            after.keys.filter { before[$0] == nil }.sorted(), before.keys.filter { after[$0] == nil }.sorted(),
            after.keys.filter { before[$0] != nil && before[$0] != after[$0] }.sorted()
        )
    }

    /// A text that changes whenever the event's definition does (for reload reports).
    var fingerprint: String {
        let steps = pipeline.map { step in
            [step.id?.value ?? "", step.action.value, step.when?.value ?? "", "\(step.timeout.map { "\($0)" } ?? "")"]
                .joined(separator: "|") + step.params.map { "\($0.name)=\($0.value.value.jsonText)" }.joined(separator: ",")
        }
        return requires.map(\.value).joined(separator: ",") + "#" + (payloadSchema?.value.jsonText ?? "") + "#"
            + steps.joined(separator: ";")
    }
}

/// Why the engine could not start: refused plugins, configuration errors, or both.
public struct EngineStartError: Error, Sendable, CustomStringConvertible {
    /// Plugins that were refused.
    public let plugins: [PluginLoadError]
    /// Configuration errors (compiled against the plugins that did load).
    public let config: ConfigErrors?

    public var description: String {
        (plugins.map(\.description) + (config.map { [$0.description] } ?? [])).joined(separator: "\n")
    }
}
