import Logging

/// The engine without the network: loaded plugins, the compiled configuration, the state core and
/// the router. The server layer feeds it connections and messages.
public final class Engine: Sendable {
    /// The loaded plugins and their actions.
    public let plugins: PluginHost
    /// The compiled configuration.
    public let config: CompiledConfig
    /// The state core.
    public let state: any StateManager
    /// The router messages go through.
    public let router: Router

    /// Loads the plugins of `settings.plugins.directory` (or `pluginsDirectory`), then compiles the
    /// configuration. Throws ``EngineStartError`` listing every problem.
    public init(
        settings: EngineConfig, pluginsDirectory: String? = nil, state: any StateManager = InMemoryStateManager(),
        fanOut: any FrameFanOut = DirectFanOut(), httpCallout: (any HTTPCallout)? = nil, logger: Logger
    ) throws(EngineStartError) {
        HostTable.pluginLogger.withLock { $0 = logger }
        if let httpCallout { HostTable.httpCallout.withLock { $0 = httpCallout } }
        var host = PluginHost()
        let refusals = host.loadDirectory(pluginsDirectory ?? settings.plugins.directory)
        // Compile even when a plugin was refused, so one run reports every problem.
        let compiled: CompiledConfig
        do {
            compiled = try PipelineCompiler(registry: host.registry).compile(settings)
        } catch {
            throw EngineStartError(plugins: refusals, config: error)
        }
        if !refusals.isEmpty { throw EngineStartError(plugins: refusals, config: nil) }
        plugins = host
        config = compiled
        self.state = state
        let limits = EngineLimits(maxRoomsPerConnection: settings.connections.maxRoomsPerConnection)
        router = Router(config: compiled, services: EngineServices(state: state, fanOut: fanOut, logger: logger, limits: limits))
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
