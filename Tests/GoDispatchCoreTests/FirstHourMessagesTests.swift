import Foundation
import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// The messages a new user meets in the first hour: each says what is wrong, where, and what to do.
@Suite("First-hour messages")
struct FirstHourMessagesTests {
    /// A config in a fresh folder, with `plugins` (a `plugins:` block or nothing) and three steps.
    func config(plugins: String, steps: Bool = true) throws -> (settings: EngineConfig, folder: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gd-first-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let pipeline = steps
            ? """
                pipeline:
                  - action: _join
                    params: { room: "{{target}}" }
                  - action: _notify_origin
                    params: { event: joined }
                  - action: _notify_room
                    params: { room: "{{target}}", event: hello }
            """ : "    pipeline: []"
        let yaml = "\(configHead)\n\(plugins)\nevents:\n  room.join:\n\(pipeline)\n"
        return (try parseConfig(yaml, file: "\(folder)/config.yaml"), folder)
    }

    @Test func aMissingPluginsDirectoryIsOneErrorAtItsLine() throws {
        let (settings, folder) = try config(plugins: "plugins:\n  directory: dist/plugins")
        let errors = try #require(throws: ConfigErrors.self) { try settings.checkPluginsDirectory() }.errors
        #expect(errors.count == 1, "one error, not an unknown action per step: \(errors)")
        let error = try #require(errors.first)
        #expect(error.location == SourceLocation(file: "\(folder)/config.yaml", line: 5, column: 14))
        #expect(error.message.contains("plugins directory \(folder)/dist/plugins"), "where it looked: \(error.message)")
        #expect(error.message.contains("no such directory"))
        #expect(error.message.contains("`make build` puts the bundled plugins in dist/plugins"))
        #expect(error.message.contains("--plugins DIR"))
    }

    @Test func anEmptyPluginsDirectoryIsOneErrorWhenAPipelineNamesActions() throws {
        let (settings, folder) = try config(plugins: "plugins: { directory: ./empty }")
        try FileManager.default.createDirectory(atPath: "\(folder)/empty", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: "\(folder)/empty/README"))
        let errors = try #require(throws: ConfigErrors.self) { try settings.checkPluginsDirectory() }.errors
        #expect(errors.count == 1)
        #expect(errors.first?.location.line == 4)
        #expect(errors.first?.message.contains("plugins directory \(folder)/empty") == true)
        #expect(errors.first?.message.contains("holds no .so file") == true)
        // A configuration whose pipelines name no action needs no plugin.
        let (stepless, other) = try config(plugins: "plugins: { directory: ./empty }", steps: false)
        try FileManager.default.createDirectory(atPath: "\(other)/empty", withIntermediateDirectories: true)
        try stepless.checkPluginsDirectory()
    }

    @Test func theDefaultAndTheOverrideSayWhereTheDirectoryCameFrom() throws {
        let (settings, folder) = try config(plugins: "")
        let byDefault = try #require(throws: ConfigErrors.self) { try settings.checkPluginsDirectory() }.errors
        #expect(byDefault.first?.message.contains("\(folder)/plugins (the default") == true, "\(byDefault)")
        let overridden = try #require(throws: ConfigErrors.self) {
            try settings.checkPluginsDirectory(override: "\(folder)/nowhere")
        }.errors
        #expect(overridden.first?.message.contains("\(folder)/nowhere (given with --plugins)") == true, "\(overridden)")
        // A directory holding plugins passes.
        try settings.checkPluginsDirectory(override: try makePluginDirectory(bundledPlugins))
    }

    @Test func aRelativeDirectoryIsShownResolved() throws {
        let refusal = try #require(PluginHost.checkDirectory("no-such-plugins-dir"))
        #expect(refusal.kind == .missingDirectory)
        #expect(refusal.file == FileManager.default.currentDirectoryPath + "/no-such-plugins-dir")
        #expect(refusal.description.hasPrefix("plugins directory /"))
    }

    @Test func schemaLimitsAgreeInNumber() throws {
        func violation(_ schema: String, _ value: String) throws -> String? {
            try PayloadSchema(try JSONReader.parse(Array(schema.utf8)))
                .firstViolation(in: try JSONReader.parse(Array(value.utf8)))?.message
        }
        #expect(try violation(#"{"minLength":1}"#, #""""#) == "must be at least 1 character")
        #expect(try violation(#"{"minLength":2}"#, #""a""#) == "must be at least 2 characters")
        #expect(try violation(#"{"maxLength":1}"#, #""ab""#) == "must be at most 1 character")
        #expect(try violation(#"{"minItems":1}"#, "[]") == "must have at least 1 item")
        #expect(try violation(#"{"maxItems":1}"#, "[1,2]") == "must have at most 1 item")
        #expect(try violation(#"{"maxItems":2}"#, "[1,2,3]") == "must have at most 2 items")
    }

    @Test func aListenErrorNamesTheAddressTheKeyAndTheFix() {
        let busy = ListenError(listener: .server, host: "127.0.0.1", port: 8080, errno: EADDRINUSE, detail: "bind")
        #expect(busy.kind == .addressInUse)
        #expect(busy.description.hasPrefix("cannot listen on 127.0.0.1:8080 (`server.listen`): the address is already in use"))
        #expect(busy.description.contains("or with --port"))
        let api = ListenError(listener: .api, host: "::1", port: 9000, errno: EADDRINUSE, detail: "bind")
        #expect(api.description.hasPrefix("cannot listen on [::1]:9000 (`api.listen`)"))
        #expect(api.description.contains("--api-port"))
        let privileged = ListenError(listener: .metrics, host: "0.0.0.0", port: 80, errno: EACCES, detail: "bind")
        #expect(privileged.kind == .permissionDenied)
        #expect(privileged.description.contains("`metrics.listen`") && privileged.description.contains("--metrics-port"))
    }
}
