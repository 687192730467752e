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
        fanOut: any FrameFanOut = DirectFanOut(), logger: Logger
    ) throws(EngineStartError) {
        HostTable.pluginLogger.withLock { $0 = logger }
        var host = PluginHost()
        let refusals = host.loadDirectory(pluginsDirectory ?? settings.plugins.directory)
        if !refusals.isEmpty { throw .plugins(refusals) }
        let compiled: CompiledConfig
        do {
            compiled = try PipelineCompiler(registry: host.registry).compile(settings)
        } catch {
            throw .config(error)
        }
        plugins = host
        config = compiled
        self.state = state
        router = Router(config: compiled, services: EngineServices(state: state, fanOut: fanOut, logger: logger))
    }
}

/// Why the engine could not start.
public enum EngineStartError: Error, Sendable, CustomStringConvertible {
    /// Plugins were refused.
    case plugins([PluginLoadError])
    /// The configuration has errors.
    case config(ConfigErrors)

    public var description: String {
        switch self {
        case .plugins(let errors): return errors.map(\.description).joined(separator: "\n")
        case .config(let errors): return errors.description
        }
    }
}
