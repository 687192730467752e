import Foundation
import GoDispatchServer
import GoDispatchCore
import GoDispatchTestSupport
import Testing
import GoDispatchClient

/// Runs the built `godispatch` binary.
func godispatch(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "\(BuildProducts.directory)/godispatch")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Writes a config file into a fresh folder and returns its path.
func writeConfig(_ yaml: String) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gd-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent("config.yaml").path
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("godispatch CLI")
struct CLITests {
    @Test func validateAcceptsTheShippedConfigAndWarnsAboutItsDevelopmentSecret() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let plugins = try makePluginDirectory(bundledPlugins)
        let result = try godispatch(["validate", "--config", "\(repo)/config.yaml", "--plugins", plugins])
        #expect(result.status == 1, "warnings exit 1: \(result.err)")
        #expect(result.out == "\(repo)/config.yaml: ok (9 events, 1 server events, 11 actions), 2 warning(s)\n")
        #expect(result.err.contains("warning: auth.jwt.secret is the development default"))
        #expect(result.err.contains("warning: api.keys holds the development default"))
        let production = try godispatch(
            ["validate", "--config", "\(repo)/config.yaml", "--plugins", plugins],
            environment: ["GODISPATCH_JWT_SECRET": String(repeating: "k", count: 48), "GODISPATCH_API_KEY": String(repeating: "a", count: 32)])
        #expect(production.status == 0, "clean: \(production.err)")
        #expect(production.err.isEmpty)
    }

    @Test func validatePrintsEveryErrorWithFileLineAndColumn() throws {
        let path = try writeConfig(
            """
            auth: { jwt: { secret: "a-long-enough-secret-for-hs256-0123" } }
            events:
              e:
                pipeline:
                  - action: _nope
                  - action: _join
                    params: { room: "{{payload.}}" }

            """)
        let result = try godispatch(["validate", "--config", path, "--plugins", try makePluginDirectory(bundledPlugins)])
        #expect(result.status == 2)
        #expect(result.err.contains("\(path):5:17: error: unknown action `_nope`; available actions: _disconnect, _history, _join, _leave"))
        #expect(result.err.contains("\(path):7:25: error: in param `room` of `_join`"))
    }

    @Test func validateWarnsAboutLikelyMistakesAndSpeaksJSON() throws {
        let path = try writeConfig(
            """
            auth: { jwt: { secret: short } }
            events:
              chat:
                requires: ["{{user.perms}}"]
                payload_schema: { type: object, additionalProperties: false, properties: { text: { type: string } } }
                pipeline:
                  - id: unused
                    action: _notify_origin
                    params: { event: x, payload: "{{payload.txt}}" }

            """)
        let plugins = try makePluginDirectory(bundledPlugins)
        let text = try godispatch(["validate", "--config", path, "--plugins", plugins])
        #expect(text.status == 1)
        #expect(text.err.contains("\(path):1:24: warning: auth.jwt.secret is shorter than 32 bytes"))
        #expect(text.err.contains("\(path):4:16: warning: nobody can send `chat`"))
        #expect(text.err.contains("\(path):7:13: warning: step id `unused` is never read"))
        #expect(text.err.contains("\(path):9:38: warning: `{{payload.txt}}` names payload field `txt`"))
        let json = try godispatch(["validate", "--config", path, "--plugins", plugins, "--format", "json"])
        #expect(json.status == 1)
        let report = try JSONReader.parse(Array(json.out.utf8))
        #expect(report["errors"] == .number("0") && report["warnings"] == .number("4"))
        guard case .array(let findings)? = report["findings"] else {
            Issue.record("no findings array")
            return
        }
        #expect(findings.first?["line"] == .number("1") && findings.first?["severity"] == .string("warning"))
        let broken = try godispatch(["validate", "--config", try writeConfig("events: {}\n"), "--plugins", plugins, "--format", "json"])
        #expect(broken.status == 2)
        #expect(try JSONReader.parse(Array(broken.out.utf8))["errors"] == .number("1"))
    }

    @Test func validateReportsARefusedPluginAndConfigErrorsTogether() throws {
        let path = try writeConfig("auth: { jwt: { secret: s } }\nevents:\n  e:\n    pipeline:\n      - action: _nope\n")
        let result = try godispatch([
            "validate", "--config", path, "--plugins", try makePluginDirectory(bundledPlugins + ["FixtureNoEntry"]),
        ])
        #expect(result.status == 2)
        #expect(result.err.contains("libFixtureNoEntry.so: no symbol godispatch_plugin_entry_v1"))
        #expect(result.err.contains("\(path):5:17: error: unknown action `_nope`"))
    }

    @Test func tokenMintsATokenTheServerAccepts() async throws {
        let minted = try godispatch(["token", "--sub", "alice", "--perms", "chat:write,room:lobby:write", "--ttl", "5m",
            "--secret", ServerHarness.secret])
        #expect(minted.status == 0, "\(minted.err)")
        let token = minted.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let h = try await ServerHarness()
        let client = try await h.connect(token: token)
        try await client.send(#"{"event":"room.join","target":"lobby"}"#)
        #expect(await client.nextJSON()?["event"] == .string("joined"))
        try await client.send(#"{"event":"chat.send","target":"lobby","payload":{"text":"x"}}"#)
        // chat.send requires chat:write: the minted token carried it.
        #expect(await client.nextJSON()?["event"] == .string("chat.message"))
        await h.stop()
    }

    @Test func tokenNeedsExactlyOneKeySource() throws {
        let result = try godispatch(["token", "--sub", "alice"])
        #expect(result.status != 0)
        #expect(result.err.contains("give exactly one of --secret or --config"))
    }

    @Test func pluginsListsPluginsAndActions() throws {
        let result = try godispatch(["plugins", "--plugins", try makePluginDirectory(bundledPlugins)])
        #expect(result.status == 0)
        #expect(result.out.contains("messaging 1.0.0 (ABI 1.2, swift-"))
        #expect(result.out.contains("  _notify_room  Send {event, payload} to every member of `room`"))
        #expect(result.out.contains("rooms 1.0.0"))
    }
}

/// A running `godispatch serve` whose stderr lines the test can await.
final class ServeProcess: Sendable {
    let process: Process
    let lines = Mailbox<String>()

    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(BuildProducts.directory)/godispatch")
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        let lines = self.lines
        let buffer = Locked<[UInt8]>([])
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            buffer.withLock { bytes in
                bytes.append(contentsOf: data)
                while let newline = bytes.firstIndex(of: 0x0A) {
                    lines.put(String(decoding: bytes[..<newline], as: UTF8.self))
                    bytes.removeSubrange(...newline)
                }
            }
        }
        try process.run()
        self.process = process
    }

    /// The next line containing `text` (earlier lines are skipped), or nil after the timeout.
    func line(containing text: String) async -> String? {
        while let line = await lines.take(timeout: .seconds(30)) {
            if line.contains(text) { return line }
        }
        return nil
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

@Suite("godispatch serve: hot reload")
struct ServeReloadTests {
    static func config(_ version: String) -> String {
        """
        server: { listen: "127.0.0.1:0" }
        auth: { jwt: { secret: "\(ServerHarness.secret)" } }
        events:
          ping:
            pipeline:
              - action: _notify_origin
                params: { event: \(version) }
        """
    }

    @Test func reloadsOnFileChangeAndSIGHUPAndKeepsServingThroughABadFile() async throws {
        let path = try writeConfig(Self.config("v1"))
        let plugins = try makePluginDirectory(bundledPlugins)
        let serve = try ServeProcess(["serve", "--config", path, "--plugins", plugins, "--watch"])
        defer { serve.stop() }
        let listening = try #require(await serve.line(containing: "listening"))
        let port = try #require(Int(listening.split(separator: ":").last { Int($0.prefix { $0.isNumber }) != nil }?.prefix { $0.isNumber } ?? ""))
        let client = TestClient(
            try await WebSocketClient.connect(
                host: "127.0.0.1", port: port, path: "/ws",
                headers: [("Authorization", "Bearer \(try await ServerHarness.token())")]))
        try await client.send(#"{"event":"ping"}"#)
        #expect(await client.nextJSON()?["event"] == .string("v1"))

        try Self.config("v2").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await serve.line(containing: "config reloaded") != nil)
        try await client.send(#"{"event":"ping"}"#)
        #expect(await client.nextJSON()?["event"] == .string("v2"), "the same connection now runs the new pipeline")

        try (Self.config("v3") + "\n  broken:\n    pipeline:\n      - action: _nope\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await serve.line(containing: "config reload failed") != nil)
        let detail = await serve.line(containing: "unknown action `_nope`")
        #expect(detail?.contains("\(path):10:17") == true, "\(detail ?? "no error line")")
        try await client.send(#"{"event":"ping"}"#)
        #expect(await client.nextJSON()?["event"] == .string("v2"), "still serving the previous configuration")

        // Without --watch noticing (same size, so write v4 and signal right away), SIGHUP reloads too.
        try Self.config("v4").write(toFile: path, atomically: true, encoding: .utf8)
        kill(serve.process.processIdentifier, SIGHUP)
        #expect(await serve.line(containing: "config reloaded") != nil)
        try await client.send(#"{"event":"ping"}"#)
        #expect(await client.nextJSON()?["event"] == .string("v4"))
    }
}

@Suite("godispatch simulate")
struct SimulateTests {
    @Test func printsEachStepItsParamsEffectsAndOutcome() throws {
        let path = try writeConfig(
            """
            auth: { jwt: { secret: "a-long-enough-secret-for-hs256-0123" } }
            events:
              chat.send:
                requires: [chat:write]
                pipeline:
                  - id: fanout
                    action: _notify_room
                    params: { room: "{{target}}", event: chat.message, payload: { text: "{{payload.text}}" } }
                  - action: _notify_origin
                    when: "'admin' in user.perms"
                    params: { event: admin-note }
                  - action: _notify_origin
                    params: { event: chat.ack, payload: { delivered: "{{steps.fanout.delivered}}" } }

            """)
        let plugins = try makePluginDirectory(bundledPlugins)
        let result = try godispatch([
            "simulate", "--config", path, "--plugins", plugins, "--event", "chat.send", "--target", "lobby",
            "--payload", #"{"text":"hi"}"#, "--as", "alice", "--perms", "chat:write", "--rooms", "lobby",
        ])
        #expect(result.status == 0, "\(result.err)")
        let expected = [
            "simulating `chat.send` as alice [chat:write] → lobby",
            "step 1 _notify_room",
            #"  params: room="lobby" event="chat.message" payload={"text":"hi"}"#,
            #"  sends to 1 connection(s) [alice]: {"event":"chat.message","target":"lobby","payload":{"text":"hi"},"from":"alice"}"#,
            #"  outcome: ok, result {"delivered":1}"#,
            "step 2 _notify_origin: skipped (when: 'admin' in user.perms is false)",
            "step 3 _notify_origin",
            #"  params: event="chat.ack" payload={"delivered":1}"#,
            #"  sends to alice (origin): {"event":"chat.ack","payload":{"delivered":1},"from":"alice","ref":"sim-1"}"#,
            #"  outcome: ok"#,
            "pipeline completed",
        ]
        #expect(result.out.split(separator: "\n").map(String.init) == expected)

        let refused = try godispatch([
            "simulate", "--config", path, "--plugins", plugins, "--event", "chat.send", "--as", "bob",
        ])
        #expect(refused.status == 1)
        #expect(refused.out.contains("refused before any step: forbidden: `chat.send` requires the permission `chat:write`"))
    }
}
