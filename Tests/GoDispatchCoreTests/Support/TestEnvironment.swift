import Foundation
import GoDispatchCore
import GoDispatchTestSupport
import Logging

/// A logger that discards everything (tests assert on frames, not log lines).
let quietLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// Parses a config from text with a fixed environment.
func parseConfig(_ yaml: String, file: String = "test.yaml", environment: [String: String] = [:]) throws -> EngineConfig {
    try ConfigLoader(environment: environment).parse(yaml, file: file)
}

/// The first line-and-column of a config that must fail.
func configErrors(_ yaml: String, environment: [String: String] = [:]) -> [ConfigError] {
    do throws(ConfigErrors) {
        _ = try ConfigLoader(environment: environment).parse(yaml, file: "bad.yaml")
        return []
    } catch {
        return error.errors
    }
}

/// Builds an engine on `yaml` with the given plugins.
func makeEngine(_ yaml: String, plugins: [String] = bundledPlugins) throws -> Engine {
    let config = try parseConfig(yaml)
    return try Engine(settings: config, pluginsDirectory: try makePluginDirectory(plugins), logger: quietLogger)
}

/// A minimal valid head for test configs.
let configHead = """
    auth:
      jwt:
        secret: test-secret
    """
