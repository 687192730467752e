import ArgumentParser
import GoDispatchCore
import Logging

/// `godispatch validate`: load plugins and compile the configuration; print every error.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check a configuration (and its plugins) without serving.")

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @OptionGroup var pluginOptions: PluginOptions

    /// The development secret shipped in config.yaml.
    static let developmentSecret = "dev-secret-change-me-0123456789abcdef"

    func run() async throws {
        var logger = Logger(label: "godispatch.validate")
        logger.logLevel = .error
        let settings = try Defaults.loadConfig(config)
        let engine: Engine
        do {
            engine = try Engine(settings: settings, pluginsDirectory: pluginOptions.plugins, logger: logger)
        } catch {
            Defaults.printErrors(error.description)
            throw ExitCode(2)
        }
        for warning in Self.warnings(settings) { Defaults.printErrors(warning) }
        print("\(config): ok (\(engine.config.events.count) events, \(engine.plugins.registry.names.count) actions)")
    }

    /// Problems that do not stop start-up but should be fixed before production.
    static func warnings(_ settings: EngineConfig) -> [String] {
        var warnings: [String] = []
        let location = settings.auth.jwt.secretLocation.map { "\($0)" } ?? settings.file
        if let secret = settings.auth.jwt.secret, settings.auth.jwt.algorithms.contains(where: { $0.hasPrefix("HS") }) {
            if secret == developmentSecret {
                warnings.append("\(location): warning: auth.jwt.secret is the development default; set GODISPATCH_JWT_SECRET")
            } else if secret.utf8.count < 32 {
                warnings.append("\(location): warning: auth.jwt.secret is shorter than 32 bytes; use a long random secret")
            }
        }
        return warnings
    }
}
