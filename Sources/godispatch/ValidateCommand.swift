import ArgumentParser
import Foundation
import GoDispatchCore
import GoDispatchRedis
import Logging

/// `godispatch validate`: a linter for configurations. Exit 0 clean, 1 warnings, 2 errors.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a configuration and its plugins without serving (exit 0 clean, 1 warnings, 2 errors).")

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @OptionGroup var pluginOptions: PluginOptions

    @Option(name: .long, help: "Output: text (default) or json.")
    var format: OutputFormat = .text

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    func run() async throws {
        var logger = Logger(label: "godispatch.validate")
        logger.logLevel = .critical
        var findings: [LintFinding] = []
        var summary = ""
        do {
            let settings = try ConfigLoader().load(file: config)
            do throws(ConfigErrors) {
                // A wrong plugins directory is one error at its line, not an "unknown action" per step.
                try settings.checkPluginsDirectory(override: pluginOptions.plugins)
                do {
                    let engine = try Engine(settings: settings, pluginsDirectory: pluginOptions.plugins, logger: logger)
                    let serverEvents = engine.config.serverEvents.count
                    summary = "\(engine.config.events.count) events, "
                        + (serverEvents > 0 ? "\(serverEvents) server events, " : "")
                        + "\(engine.plugins.registry.names.count) actions"
                } catch {
                    let location = SourceLocation(file: config, line: 1, column: 1)
                    findings += error.plugins.map { LintFinding(.error, location, $0.description) }
                    findings += (error.config?.errors ?? []).map { LintFinding(.error, $0.location, $0.message) }
                }
            } catch {
                findings += error.errors.map { LintFinding(.error, $0.location, $0.message) }
            }
            findings += ConfigLinter.warnings(settings)
            // `broker.url` is read by the server (its Redis client): check it the same way here.
            if settings.broker.kind == .redis {
                do {
                    _ = try RedisURL(settings.broker.url)
                } catch {
                    let location = settings.broker.urlLocation ?? SourceLocation(file: config, line: 1, column: 1)
                    findings.append(LintFinding(.error, location, "`broker.url`: \(error)"))
                }
            }
        } catch {
            findings += error.errors.map { LintFinding(.error, $0.location, $0.message) }
        }
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.count - errors
        switch format {
        case .text:
            for finding in findings { FileHandle.standardError.write(Data((finding.description + "\n").utf8)) }
            if errors == 0 { print("\(config): ok (\(summary))\(warnings > 0 ? ", \(warnings) warning(s)" : "")") }
        case .json:
            print(Self.json(findings, file: config))
        }
        if errors > 0 { throw ExitCode(2) }
        if warnings > 0 { throw ExitCode(1) }
    }

    /// `{"file":…,"errors":n,"warnings":n,"findings":[{"severity","file","line","column","message"}]}`.
    static func json(_ findings: [LintFinding], file: String) -> String {
        var writer = JSONWriter()
        let errors = findings.filter { $0.severity == .error }.count
        writer.write(
            .object([
                ("file", .string(file)), ("errors", .number(String(errors))),
                ("warnings", .number(String(findings.count - errors))),
                (
                    "findings",
                    .array(
                        findings.map {
                            .object([
                                ("severity", .string($0.severity.rawValue)), ("file", .string($0.location.file)),
                                ("line", .number(String($0.location.line))), ("column", .number(String($0.location.column))),
                                ("message", .string($0.message)),
                            ])
                        })
                ),
            ]))
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
