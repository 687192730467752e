import ArgumentParser
import Foundation
import GoDispatchCore
import Logging

/// Locations and bootstrapping shared by the subcommands.
enum Defaults {
    /// `<folder of the executable>/../plugins`: where `make build` puts the bundled plugins (`dist/plugins`).
    static var pluginsBesideExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("plugins").path
    }

    /// Sends swift-log output to stderr at `level`.
    static func bootstrapLogging(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "godispatch")
        logger.logLevel = level
        return logger
    }

    /// Loads a config, printing every error to stderr and exiting non-zero on failure.
    static func loadConfig(_ path: String) throws -> EngineConfig {
        do {
            return try ConfigLoader().load(file: path)
        } catch {
            printErrors(error.description)
            throw ExitCode(2)
        }
    }

    /// Checks the plugins directory `serve` and `simulate` will load (`--plugins`, else the config's
    /// `plugins.directory`) before any plugin loads: one error at the `plugins.directory` line, exit 2.
    static func checkPluginsDirectory(_ settings: EngineConfig, override: String?) throws {
        do {
            try settings.checkPluginsDirectory(override: override)
        } catch {
            printErrors(error.description)
            throw ExitCode(2)
        }
    }

    /// Prints `text` (and a newline) to stderr.
    static func printErrors(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
