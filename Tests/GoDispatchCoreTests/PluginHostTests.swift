import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import GoDispatchTestSupport

@testable import GoDispatchCore

@Suite("Plugin host")
struct PluginHostTests {
    @Test func loadsTheBundledPlugins() throws {
        var host = PluginHost()
        let errors = host.loadDirectory(try makePluginDirectory(bundledPlugins))
        #expect(errors.isEmpty, "\(errors)")
        #expect(host.plugins.map(\.name).sorted() == ["history", "messaging", "permissions", "presence", "rooms", "webhook"])
        #expect(
            host.registry.names == [
                "_disconnect", "_history", "_join", "_leave", "_log", "_notify_origin", "_notify_room", "_notify_user",
                "_presence", "_set_permissions", "_webhook",
            ])
        let messaging = try #require(host.plugins.first { $0.name == "messaging" })
        #expect(messaging.version == "1.0.0")
        #expect(messaging.abiVersion == "1.2")
        #expect(messaging.toolchain?.hasPrefix("swift-") == true)
        #expect(messaging.actions.allSatisfy { !$0.description.isEmpty })
    }

    @Test func pluginSymbolsStayLocal() throws {
        // Neither linked into the test binary (which stands in for the engine) nor loaded RTLD_GLOBAL:
        // after loading, the entry symbol is still invisible to a global lookup.
        var host = PluginHost()
        _ = host.loadDirectory(try makePluginDirectory(bundledPlugins))
        #expect(!host.plugins.isEmpty)
        #expect(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "godispatch_plugin_entry_v1") == nil)
    }

    /// Loads one fixture and returns the refusal.
    func refusal(_ product: String) throws -> PluginLoadError {
        var host = PluginHost()
        let errors = host.loadDirectory(try makePluginDirectory([product]))
        #expect(host.registry.names.isEmpty, "a refused plugin registers nothing")
        return try #require(errors.first)
    }

    @Test(arguments: [
        ("FixtureNoEntry", PluginLoadError.Kind.missingEntrySymbol, "no symbol godispatch_plugin_entry_v1"),
        ("FixtureNullDescriptor", .nullDescriptor, "returned NULL"),
        ("FixtureWrongVersion", .versionMismatch, "ABI 2.0"),
        ("FixtureNextMajor", .versionMismatch, "godispatch_plugin_entry_v2"),
        ("FixtureDuplicateAction", .duplicateAction, "declares action `fixture_twice` twice"),
        ("FixtureUnresolved", .unresolvedSymbol, "godispatch_fixture_symbol_nobody_defines"),
        ("FixtureToolchainMismatch", .toolchainMismatch, "built by another toolchain (its compiler: clang 0.0.1"),
    ])
    func refusesBrokenPlugins(_ product: String, _ kind: PluginLoadError.Kind, _ text: String) throws {
        let error = try refusal(product)
        #expect(error.kind == kind)
        #expect(error.message.contains(text), "\(error)")
        #expect(error.description.contains("lib\(product).so"), "the message names the file")
    }

    @Test func versionMismatchSaysHowToFix() throws {
        let error = try refusal("FixtureWrongVersion")
        #expect(error.message.contains("this engine speaks ABI 1.2"))
        #expect(error.message.contains("rebuild the plugin against this engine's GoDispatchPluginKit"))
    }

    @Test func aPluginBuiltAgainstANewerMinorLoadsAndRuns() async throws {
        var host = PluginHost()
        let errors = host.loadDirectory(try makePluginDirectory(["FixtureNewerMinor"]))
        #expect(errors.isEmpty, "\(errors)")
        let plugin = try #require(host.plugins.first)
        #expect(plugin.abiVersion == "1.99")
        #expect(plugin.actions.map(\.name) == ["fixture_newer_first", "fixture_newer_second"], "walked with the plugin's stride")
        #expect(plugin.actions.map(\.description) == ["built against ABI 1.99", "the second action of the array"])
        let h = try EngineHarness(
            events: "  newer:\n    pipeline:\n      - action: fixture_newer_second\n", plugins: ["FixtureNewerMinor"])
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"newer"}"#, from: alice)
        #expect(await client.nextFrame()?["payload"] == .object([("future", .bool(false))]), "the future host function is absent")
    }

    @Test func refusesAFileThatIsNotASharedLibrary() throws {
        let folder = try makePluginDirectory([])
        try "not an ELF file".write(toFile: "\(folder)/libtext.so", atomically: true, encoding: .utf8)
        var host = PluginHost()
        let errors = host.loadDirectory(folder)
        let error = try #require(errors.first)
        #expect(error.kind == .notSharedLibrary, "\(error)")
        #expect(error.description.contains("libtext.so"))
    }

    @Test func refusesAnActionNameTakenByAnotherPlugin() throws {
        let folder = try makePluginDirectory(["GoDispatchMessaging"])
        // A second copy of the same library (another inode, so dlopen loads it again).
        try FileManager.default.copyItem(
            atPath: BuildProducts.library("GoDispatchMessaging"), toPath: "\(folder)/libzz-copy.so")
        var host = PluginHost()
        let errors = host.loadDirectory(folder)
        let error = try #require(errors.first)
        #expect(error.kind == .duplicateAction)
        #expect(error.message.contains("already provided by plugin `messaging`"))
        #expect(host.plugins.count == 1, "the first copy stays, the second registers nothing")
    }

    @Test func missingDirectoryIsAClearError() {
        var host = PluginHost()
        let errors = host.loadDirectory("/nonexistent/godispatch-plugins")
        #expect(errors.first?.kind == .unreadableDirectory)
        #expect(errors.first?.message.contains("plugins.directory") == true)
    }
}

@Suite("Pipeline compilation")
struct PipelineCompilationTests {
    func compileErrors(_ events: String, plugins: [String] = bundledPlugins + ["FixtureRejectParams"]) throws
        -> [ConfigError]
    {
        do {
            _ = try makeEngine(configHead + "\nevents:\n" + events, plugins: plugins)
            return []
        } catch let error as EngineStartError {
            guard let errors = error.config, error.plugins.isEmpty else { throw error }
            return errors.errors
        }
    }

    @Test func unknownActionListsTheActionsThatExist() throws {
        let errors = try compileErrors("  e:\n    pipeline:\n      - action: _notify_everyone\n")
        let error = try #require(errors.first)
        #expect(error.location.line == 7 && error.location.column == 17)
        #expect(error.message.contains("unknown action `_notify_everyone`"))
        #expect(error.message.contains("_join, _leave, _log, _notify_origin, _notify_room, _notify_user"))
    }

    @Test func badTemplateNamesItsLine() throws {
        let errors = try compileErrors(
            "  e:\n    pipeline:\n      - action: _notify_origin\n        params: { event: x, payload: \"{{payload.}}\" }\n")
        let error = try #require(errors.first)
        #expect(error.location.line == 8 && error.location.column == 38, "\(error)")
        #expect(error.message.contains("is not a path"))
    }

    @Test func stepReferencesMustPointBackwards() throws {
        let errors = try compileErrors(
            """
              e:
                pipeline:
                  - action: _notify_origin
                    params: { event: x, payload: "{{steps.later.delivered}}" }
                  - id: later
                    action: _notify_origin
                    params: { event: y }

            """)
        #expect(errors.first?.message.contains("not an earlier step") == true)
    }

    @Test func instantiateChecksStaticParamsAtLoad() throws {
        let missing = try compileErrors("  e:\n    pipeline:\n      - action: _notify_room\n        params: { event: x }\n")
        #expect(missing.first?.message.contains("_notify_room needs the parameter `room`") == true, "\(missing)")
        #expect(missing.first?.location.line == 7)
        let typo = try compileErrors(
            "  e:\n    pipeline:\n      - action: _join\n        params: { room: a, rooom: b }\n")
        #expect(typo.first?.message.contains("has no parameter `rooom`") == true)
        let level = try compileErrors(
            "  e:\n    pipeline:\n      - action: _log\n        params: { message: hi, level: loud }\n")
        #expect(level.first?.message.contains("use one of: debug, error, info") == true)
        let cPlugin = try compileErrors(
            "  e:\n    pipeline:\n      - action: fixture_strict\n        params: { mode: relaxed }\n")
        #expect(cPlugin.first?.message.contains("param `mode` must be \"strict\"") == true)
        #expect(try compileErrors("  e:\n    pipeline:\n      - action: fixture_strict\n        params: { mode: strict }\n").isEmpty)
    }
}
