import ArgumentParser
import GoDispatchCore

/// `godispatch plugins`: list the plugins a directory holds, with their actions.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List plugins, their versions and actions.",
        discussion: """
            Examples:
              godispatch plugins --config config.yaml   # its plugins.directory
              godispatch plugins --plugins dist/plugins
            """)

    @Option(name: .long, help: "Plugins directory (default: the --config's plugins.directory, else <bin>/../plugins).")
    var plugins: String?

    @Option(name: .long, help: "A YAML configuration whose plugins.directory (one folder or a list) to list.")
    var config: String?

    func run() async throws {
        let directories: [String]
        if let plugins {
            directories = [plugins]
        } else if let config {
            directories = try Defaults.loadConfig(config).plugins.directories
        } else {
            directories = [Defaults.pluginsBesideExecutable]
        }
        // A missing directory, or only empty ones, is one clear error (where it looked, and the fix), not an
        // empty list. An empty folder beside a full one is fine (your own plugins folder before you add one).
        if let problem = PluginHost.checkDirectories(directories).first {
            Defaults.printErrors(problem.refusal.description)
            throw ExitCode(2)
        }
        var host = PluginHost()
        var errors: [PluginLoadError] = []
        for directory in directories {
            let before = host.plugins.count
            errors += host.loadDirectory(directory)
            print("plugins in \(directory):")
            for plugin in host.plugins[before...] {
                print("\(plugin.name) \(plugin.version) (ABI \(plugin.abiVersion), \(plugin.toolchain ?? "C")) — \(plugin.file)")
                if !plugin.description.isEmpty { print("  \(plugin.description)") }
                for action in plugin.actions {
                    // GD_ACTION_NEEDS_ORIGIN: say where the action cannot be used, before a config finds out.
                    let note = action.needsOrigin ? "  [needs the sender: not in server_events]" : ""
                    print("  \(action.name)  \(action.description)\(note)")
                }
            }
        }
        for error in errors { Defaults.printErrors("refused: \(error)") }
        if !errors.isEmpty { throw ExitCode(2) }
    }
}
