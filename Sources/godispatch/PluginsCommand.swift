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
            for action in plugin.actions { print("  \(action.name)  \(action.description)") }
        }
        for error in errors { Defaults.printErrors("refused: \(error)") }
        if !errors.isEmpty { throw ExitCode(2) }
    }
}
