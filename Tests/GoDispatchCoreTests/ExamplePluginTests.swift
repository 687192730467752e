import CGoDispatchABI
import Foundation
import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// The example plugins, built outside this package by `make examples` (which `make test` runs first).
enum ExamplePlugins {
    static let swift = "\(repositoryRoot)/Examples/hello-plugin/.build/release/libHelloPlugin.so"
    /// The same plugin built in a package that depends on GoDispatch by URL and version
    /// (`scripts/build-plugin-by-url.sh`, from a tagged clone).
    static let swiftByURL = "\(repositoryRoot)/.build-url/hello-plugin/.build/release/libHelloPlugin.so"
    /// Every Swift snippet of docs/PLUGINS.md, built as one plugin (`scripts/build-doc-snippets.py`).
    static let guideSnippets = "\(repositoryRoot)/.build-url/doc-snippets/.build/release/libHelloPlugin.so"
    static let c = "\(repositoryRoot)/Examples/c-plugin/libshout.so"

    static func require(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExampleMissing(path: path)
        }
    }

    struct ExampleMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is not built: run `make examples` (make test does it first)" }
    }
}

@Suite("Example plugins built as separate artifacts")
struct ExamplePluginTests {
    /// An engine whose plugins directory holds the bundled plugins and `examples` (by default both
    /// examples, side by side), running `events`.
    func engine(_ events: String, examples: [String] = [ExamplePlugins.swift, ExamplePlugins.c]) throws -> EngineHarness {
        for example in examples { try ExamplePlugins.require(example) }
        let folder = try makePluginDirectory(bundledPlugins)
        try addPlugins(examples, to: folder)
        let config = try parseConfig(configHead + "\nevents:\n" + events)
        return EngineHarness(engine: try Engine(settings: config, pluginsDirectory: folder, logger: quietLogger))
    }

    @Test func theSwiftPackagePluginRunsEndToEnd() async throws {
        let h = try engine(
            """
              hello:
                pipeline:
                  - id: greet
                    action: hello
                    params: { greeting: Bonjour, name: "{{payload.name}}" }
                  - action: _notify_origin
                    params: { event: result, payload: "{{steps.greet.text}}" }

            """)
        let plugin = try #require(h.engine.plugins.plugins.first { $0.name == "hello" })
        #expect(plugin.file.hasSuffix("libHelloPlugin.so") && plugin.version == "1.0.0")
        let (ada, client) = h.connect("ada")
        h.send(#"{"event":"hello","payload":{"name":"Ada \"the first\""}}"#, from: ada)
        let greeting = try #require(await client.nextFrame())
        #expect(greeting["payload"] == .object([("text", .string("Bonjour, Ada \"the first\"!")), ("by", .string("ada"))]))
        #expect(await client.nextFrame()?["payload"] == .string("Bonjour, Ada \"the first\"!"))
    }

    @Test func theSwiftPluginBuiltAgainstGoDispatchByURLAndVersionRunsEndToEnd() async throws {
        // Built by scripts/build-plugin-by-url.sh: `.package(url: "file://…/godispatch", from: "<version>")`.
        let events = """
              hello:
                pipeline:
                  - id: greet
                    action: hello
                    params: { greeting: Hej, name: "{{payload.name}}" }
            """
        let h = try engine(events, examples: [ExamplePlugins.swiftByURL])
        let plugin = try #require(h.engine.plugins.plugins.first { $0.name == "hello" })
        #expect(plugin.abiVersion == "1.\(GD_ABI_MINOR)")
        let (ada, client) = h.connect("ada")
        h.send(#"{"event":"hello","payload":{"name":"Ada"}}"#, from: ada)
        #expect(await client.nextFrame()?["payload"] == .object([("text", .string("Hej, Ada!")), ("by", .string("ada"))]))
    }

    @Test func theGuidesSnippetsBuildOnePluginWhoseActionsDoWhatTheGuideSays() async throws {
        let events = """
              greet:
                pipeline:
                  - id: hi
                    action: hello
                    params: { greeting: Hello, name: "{{payload.name}}" }
                  - action: _notify_origin
                    params: { event: greeted, payload: "{{steps.hi.text}}" }
              gold:
                pipeline:
                  - action: vip
                  - action: _notify_origin
                    params: { event: welcome }
              label:
                pipeline:
                  - id: t
                    action: tag
                    params: { tags: [news, "{{payload.topic}}"], meta: { source: web, priority: 2 } }
                  - action: _notify_origin
                    params: { event: tagged, payload: { tags: "{{steps.t.tags}}", priority: "{{steps.t.priority}}" } }
            """
        let h = try engine(events, examples: [ExamplePlugins.guideSnippets])
        let (ada, client) = h.connect("ada")
        h.send(#"{"event":"greet","payload":{"name":"Ada"}}"#, from: ada)
        #expect(await client.nextFrame()?["payload"] == .string("Hello, Ada!"))
        h.send(#"{"event":"gold","id":"g1"}"#, from: ada)
        let refused = try #require(await client.nextFrame())
        #expect(refused.errorCode == "forbidden" && refused["payload"]?["message"] == .string("this room is for gold members"))
        h.send(#"{"event":"label","payload":{"topic":"swift"}}"#, from: ada)
        #expect(
            await client.nextFrame()?["payload"]
                == .object([("tags", .array([.string("news"), .string("swift")])), ("priority", .number("2"))]))
    }

    @Test func theSwiftPluginChecksItsStaticParamsAtStartUp() throws {
        #expect {
            _ = try engine("  hello:\n    pipeline:\n      - action: hello\n        params: { greeting: \"{{payload.g}}\" }\n")
        } throws: { error in
            "\(error)".contains("hello needs a literal, non-empty `greeting`")
        }
    }

    @Test func theSwiftPluginExportsOnlyTheEntrySymbolAndItsToolchain() throws {
        try ExamplePlugins.require(ExamplePlugins.swift)
        let readelf = Process()
        readelf.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        readelf.arguments = ["readelf", "--dyn-syms", "-W", ExamplePlugins.swift]
        let pipe = Pipe()
        readelf.standardOutput = pipe
        try readelf.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        readelf.waitUntilExit()
        // Exported = defined (not UND) with GLOBAL or WEAK binding; LOCAL entries cannot be bound to.
        let exported = output.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8, fields[4] == "GLOBAL" || fields[4] == "WEAK", fields[6] != "UND" else { return nil }
            return String(fields[7])
        }
        #expect(exported == ["godispatch_plugin_entry_v1", "godispatch_plugin_toolchain_v1"], "exported: \(exported)")
    }

    @Test func theCPluginRunsEndToEnd() async throws {
        let h = try engine("  shout:\n    pipeline:\n      - action: shout\n        params: { text: \"{{payload.text}}\" }\n")
        let (ada, client) = h.connect("ada")
        h.send(#"{"event":"shout","payload":{"text":"hello, world"}}"#, from: ada)
        let frame = try #require(await client.nextFrame())
        #expect(frame["payload"] == .string("HELLO, WORLD"))
        #expect(frame["from"] == .string("ada"))
        #expect {
            _ = try engine("  shout:\n    pipeline:\n      - action: shout\n")
        } throws: { error in
            "\(error)".contains("shout needs `text`")
        }
    }
}
