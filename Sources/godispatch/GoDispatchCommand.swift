import ArgumentParser
import GoDispatchCore

/// `godispatch`: the configuration-driven WebSocket engine.
@main
struct GoDispatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "godispatch",
        abstract: "A configuration-driven real-time WebSocket engine.",
        version: GoDispatchVersion.current,
        subcommands: [
            ServeCommand.self, ValidateCommand.self, TokenCommand.self, PluginsCommand.self, ConnectCommand.self,
            SimulateCommand.self, APICommand.self,
        ]
    )
}

/// Options shared by commands that load plugins.
struct PluginOptions: ParsableArguments {
    @Option(
        name: .long, help: "Plugins directory (default: the config's plugins.directory, itself plugins/ beside the config).")
    var plugins: String?
}
