import ArgumentParser
import GoDispatchCore

/// `godispatch plugins`: list the plugins a directory holds, with their actions.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List plugins, their versions and actions.")

    @OptionGroup var pluginOptions: PluginOptions

    func run() async throws {
        let directory = pluginOptions.plugins ?? Defaults.pluginsBesideExecutable
        var host = PluginHost()
        let errors = host.loadDirectory(directory)
        print("plugins in \(directory):")
        for plugin in host.plugins {
            print("\(plugin.name) \(plugin.version) (ABI \(plugin.abiVersion), \(plugin.toolchain ?? "C")) — \(plugin.file)")
            if !plugin.description.isEmpty { print("  \(plugin.description)") }
            for action in plugin.actions {
                // GD_ACTION_NEEDS_ORIGIN: say where the action cannot be used, before a config finds out.
                let note = action.needsOrigin ? "  [needs the sender: not in server_events]" : ""
                print("  \(action.name)  \(action.description)\(note)")
            }
        }
        for error in errors { Defaults.printErrors("refused: \(error)") }
        if !errors.isEmpty { throw ExitCode(2) }
    }
}
