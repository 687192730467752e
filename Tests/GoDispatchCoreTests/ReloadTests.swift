import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

@Suite("Hot reload")
struct ReloadTests {
    static func config(_ version: String, extra: String = "") -> String {
        configHead + "\nevents:\n  ping:\n    pipeline:\n      - action: _notify_origin\n        params: { event: \(version), payload: \"{{payload}}\" }\n" + extra
    }

    @Test func reloadsUnderLoadLoseNothingAndNeverHalfLoad() async throws {
        let h = try EngineHarness(events: "  ping:\n    pipeline:\n      - action: _notify_origin\n        params: { event: v0, payload: \"{{payload}}\" }\n")
        let folder = try makePluginDirectory(bundledPlugins + ["FixtureProbe"])
        let (alice, client) = h.connect("alice")
        let total = 400
        let sender = Task.detached {
            for index in 0..<total {
                h.send(#"{"event":"ping","payload":\#(index)}"#, from: alice)
                if index % 40 == 0 { try? await Task.sleep(for: .milliseconds(1)) }
            }
        }
        var outcomes: [Bool] = []
        for round in 0..<10 {
            let yaml = round.isMultiple(of: 2)
                ? Self.config("v\(round / 2 + 1)")
                : Self.config("broken", extra: "  bad:\n    pipeline:\n      - action: _no_such_action\n")
            let settings = try parseConfig(yaml)
            var reloaded = false
            do {
                _ = try h.engine.reload(
                    EngineConfig(
                        file: settings.file, server: settings.server, auth: settings.auth, connections: settings.connections,
                        plugins: PluginSettings(directory: folder), events: settings.events))
                reloaded = true
            } catch {
                #expect(round % 2 == 1, "valid config \(round) failed: \(error)")
            }
            outcomes.append(reloaded)
        }
        await sender.value
        #expect(outcomes == [true, false, true, false, true, false, true, false, true, false])
        var seen = Set<Int>()
        for _ in 0..<total {
            let frame = try #require(await client.nextFrame(), "a reply is missing")
            guard case .string(let event)? = frame["event"], ["v0", "v1", "v2", "v3", "v4", "v5"].contains(event),
                case .number(let n)? = frame["payload"], let index = Int(n)
            else {
                Issue.record("unexpected frame \(frame.jsonText)")
                continue
            }
            seen.insert(index)
        }
        #expect(seen.count == total, "every message answered exactly once")
        // The last good configuration (v5) is in force; the broken one never was.
        h.send(#"{"event":"ping","payload":"last"}"#, from: alice)
        #expect(await client.nextFrame()?["event"] == .string("v5"))
        #expect(h.engine.config.events["bad"] == nil)
    }

    @Test func aReloadReportsWhatChangedAndLoadsNewPlugins() throws {
        let folder = try makePluginDirectory(bundledPlugins)
        let first = try parseConfig(configHead + "\nevents:\n  a:\n    pipeline: []\n  b:\n    pipeline: []\n")
        let engine = try Engine(settings: first, pluginsDirectory: folder, logger: quietLogger)
        // A new plugin dropped into the running server's plugins directory.
        try addPlugins([BuildProducts.library("FixtureProbe")], to: folder)
        let settings = try parseConfig(
            configHead + "\nevents:\n  b:\n    pipeline:\n      - action: fixture_echo\n  c:\n    pipeline: []\n")
        let report = try engine.reload(settings)
        #expect(report.added == ["c"] && report.removed == ["a"] && report.changed == ["b"])
        #expect(report.newPlugins.count == 1 && report.newPlugins[0].hasSuffix("libFixtureProbe.so"))
        #expect(engine.plugins.registry["fixture_echo"] != nil)
        #expect(engine.plugins.plugins.count == bundledPlugins.count + 1, "already loaded plugins are not loaded twice")
    }
}
