import Foundation
import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// `plugins.directory` as a list: the build's plugins and the user's own, loaded in order, so a rebuild
/// that rewrites one never touches the other.
@Suite("Plugin directories")
struct PluginDirectoriesTests {
    /// A folder holding `config.yaml` (with `plugins`) whose one event uses `_notify_origin` and `hello`.
    func config(plugins: String) throws -> (settings: EngineConfig, folder: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gd-dirs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let yaml = """
            \(configHead)
            \(plugins)
            events:
              hello:
                pipeline:
                  - id: greet
                    action: hello
                    params: { greeting: Hi, name: "{{payload.name}}" }
                  - action: _notify_origin
                    params: { event: greeted, payload: "{{steps.greet.text}}" }
            """
        return (try parseConfig(yaml, file: "\(folder)/config.yaml"), folder)
    }

    @Test func aListLoadsEveryFolderInOrder() async throws {
        try ExamplePlugins.require(ExamplePlugins.swift)
        let bundled = try makePluginDirectory(bundledPlugins)
        let (settings, folder) = try config(plugins: "plugins:\n  directory: [\"\(bundled)\", mine]")
        try FileManager.default.createDirectory(atPath: "\(folder)/mine", withIntermediateDirectories: true)
        try addPlugins([ExamplePlugins.swift], to: "\(folder)/mine")
        #expect(settings.plugins.directories == [bundled, "\(folder)/mine"])
        try settings.checkPluginsDirectory()
        let h = EngineHarness(engine: try Engine(settings: settings, logger: quietLogger))
        #expect(h.engine.plugins.plugins.contains { $0.name == "hello" } && h.engine.plugins.registry["_join"] != nil)
        let (ada, client) = h.connect("ada")
        h.send(#"{"event":"hello","payload":{"name":"Ada"}}"#, from: ada)
        // The example's `hello` greets the sender itself, then the next step sends its result.
        #expect(await client.nextFrame()?["payload"]?["text"] == .string("Hi, Ada!"))
        #expect(await client.nextFrame()?["payload"] == .string("Hi, Ada!"))
    }

    @Test func anEmptyFolderBesideAFullOneIsFine() throws {
        let bundled = try makePluginDirectory(bundledPlugins)
        let (settings, folder) = try config(plugins: "plugins: { directory: [\"\(bundled)\", plugins] }")
        try FileManager.default.createDirectory(atPath: "\(folder)/plugins", withIntermediateDirectories: true)
        try settings.checkPluginsDirectory()
    }

    @Test func aMissingFolderInTheListIsAnErrorAtItsEntry() throws {
        let bundled = try makePluginDirectory(bundledPlugins)
        let (settings, folder) = try config(plugins: "plugins:\n  directory:\n    - \"\(bundled)\"\n    - nowhere")
        let errors = try #require(throws: ConfigErrors.self) { try settings.checkPluginsDirectory() }.errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.location == SourceLocation(file: "\(folder)/config.yaml", line: 7, column: 7))
        #expect(errors.first?.message.contains("plugins directory \(folder)/nowhere") == true, "\(errors)")
        #expect(errors.first?.message.contains("no such directory") == true)
    }

    @Test func onlyEmptyFoldersAreOneErrorAtTheFirst() throws {
        let (settings, folder) = try config(plugins: "plugins: { directory: [one, two] }")
        for name in ["one", "two"] {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(name)", withIntermediateDirectories: true)
        }
        let errors = try #require(throws: ConfigErrors.self) { try settings.checkPluginsDirectory() }.errors
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("\(folder)/one") == true && errors.first?.message.contains("holds no .so") == true)
    }

    @Test func anEmptyListIsALoadError() {
        #expect(throws: ConfigErrors.self) { _ = try parseConfig("\(configHead)\nplugins: { directory: [] }\nevents: {}\n") }
    }

    @Test func theShippedConfigReadsTheBuildsPluginsAndTheUsersOwn() throws {
        let shipped = try ConfigLoader(environment: [:]).load(file: "\(repositoryRoot)/config.yaml")
        #expect(shipped.plugins.directories == ["\(repositoryRoot)/dist/plugins", "\(repositoryRoot)/plugins"])
        #expect(FileManager.default.fileExists(atPath: "\(repositoryRoot)/plugins/README.md"), "plugins/ ships with the repository")
    }
}
