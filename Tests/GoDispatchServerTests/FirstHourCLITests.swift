import Dispatch
import Foundation
import GoDispatchCore
import GoDispatchServer
import GoDispatchTestSupport
import Testing

/// Runs the built `godispatch` on a thread of its own (never blocking the cooperative pool a server under
/// test needs), feeding `input` to its stdin; stdin stays open until it exits unless `closeInput`.
/// Killed after 30 s.
func runGodispatch(_ arguments: [String], input: String = "", closeInput: Bool = true) async throws
    -> (status: Int32, out: String, err: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "\(BuildProducts.directory)/godispatch")
    process.arguments = arguments
    let (stdin, out, err) = (Pipe(), Pipe(), Pipe())
    process.standardInput = stdin
    process.standardOutput = out
    process.standardError = err
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    if closeInput { try stdin.fileHandleForWriting.close() }
    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { if process.isRunning { process.terminate() } }
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            try? stdin.fileHandleForWriting.close()
            continuation.resume(
                returning: (
                    process.terminationStatus, String(decoding: outData, as: UTF8.self),
                    String(decoding: errData, as: UTF8.self)
                ))
        }
    }
}

@Suite("godispatch: first-hour messages")
struct FirstHourCLITests {
    static let kickEvents = ServerHarness.chatEvents + """

          kick:
            pipeline:
              - action: _disconnect
                params: { connection: "{{connection.id}}", code: 4003, reason: forbidden }
        """

    @Test func connectSaysTheServerIsDownAndExits2() async throws {
        // A port just freed can be taken by a server of another test running beside this one: try a few.
        var last = ""
        for _ in 1...5 {
            let (probe, port) = try await occupyPort()
            try await probe.close()
            let result = try await runGodispatch(["connect", "--url", "ws://127.0.0.1:\(port)/ws", "--token", "t"])
            let expected = "cannot connect to ws://127.0.0.1:\(port)/ws: connection refused — is the server running? (`make run`)\n"
            if result.status == 2, result.err == expected { return }
            last = "status \(result.status): \(result.err)"
        }
        Issue.record("connect to a closed port: \(last)")
    }

    @Test func connectExits3WhenTheServerClosesAnd0WhenTheUserDoes() async throws {
        let h = try await ServerHarness(events: Self.kickEvents)
        let url = "ws://127.0.0.1:\(h.port)/ws"
        let token = try await ServerHarness.token(sub: "alice")
        let kicked = try await runGodispatch(["connect", "--url", url, "--token", token], input: "{\"event\":\"kick\"}\n", closeInput: false)
        #expect(kicked.status == 3, "\(kicked.err)")
        #expect(kicked.out.contains("<closed 4003 forbidden>\n"))
        #expect(kicked.err.contains("the server closed the connection (4003 forbidden)"))

        let ended = try await runGodispatch(["connect", "--url", url, "--token", token])
        #expect(ended.status == 0, "\(ended.err)")
        #expect(ended.out.contains("<closed 1000"), "\(ended.out)")
        #expect(!ended.out.contains(" >"), "no trailing space for an empty reason: \(ended.out)")

        let help = try await runGodispatch(["connect", "--help"])
        #expect(help.out.contains("Exit status:") && help.out.contains("3  the server closed the connection"))
        await h.stop()
    }

    @Test func tokenClaimsAreWholeSeconds() async throws {
        for (ttl, seconds) in [("90s", 90), ("500ms", 1)] {
            let minted = try await runGodispatch(["token", "--sub", "alice", "--secret", ServerHarness.secret, "--ttl", ttl])
            #expect(minted.status == 0, "\(minted.err)")
            let parts = minted.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".")
            try #require(parts.count == 3)
            var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            let payload = try JSONReader.parse(Array(try #require(Data(base64Encoded: base64))))
            guard case .number(let exp)? = payload["exp"], case .number(let iat)? = payload["iat"] else {
                Issue.record("no numeric exp/iat in \(payload)")
                continue
            }
            #expect(exp.allSatisfy(\.isNumber) && iat.allSatisfy(\.isNumber), "integers: exp \(exp), iat \(iat)")
            #expect((Int(exp) ?? 0) - (Int(iat) ?? 0) == seconds)
        }
    }

    @Test func pluginsHasTheConfigOptionItsHelpPromises() async throws {
        let help = try await runGodispatch(["plugins", "--help"])
        #expect(help.out.contains("--config <config>"), "\(help.out)")
        let plugins = try makePluginDirectory(bundledPlugins)
        let path = try writeConfig(ServeReloadTests.config("v1") + "\nplugins: { directory: \"\(plugins)\" }\n")
        let listed = try await runGodispatch(["plugins", "--config", path])
        #expect(listed.status == 0, "\(listed.err)")
        #expect(listed.out.hasPrefix("plugins in \(plugins):\n"))
        #expect(listed.out.contains("messaging 1.0.0"))
        let missing = try await runGodispatch(["plugins", "--plugins", "/nonexistent/plugins"])
        #expect(missing.status == 2)
        #expect(missing.err.hasPrefix("plugins directory /nonexistent/plugins: no such directory; `make build`"))
    }

    @Test func aMissingPluginsDirectoryIsOneErrorForServeAndValidate() async throws {
        let path = try writeConfig(ServeReloadTests.config("v1") + "\nplugins: { directory: dist/plugins }\n")
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let expected = "\(path):8:23: error: plugins directory \(folder)/dist/plugins (`plugins.directory`, resolved "
            + "against the configuration's folder): no such directory; `make build` puts the bundled plugins in dist/plugins"
        let validate = try await runGodispatch(["validate", "--config", path])
        #expect(validate.status == 2)
        #expect(validate.err.hasPrefix(expected), "\(validate.err)")
        #expect(!validate.err.contains("unknown action"))
        let serve = try await runGodispatch(["serve", "--config", path])
        #expect(serve.status == 2)
        #expect(serve.err.hasPrefix(expected), "\(serve.err)")
        #expect(serve.err.split(separator: "\n").count == 1, "one error: \(serve.err)")
        let simulate = try await runGodispatch(["simulate", "--config", path, "--event", "ping", "--as", "alice"])
        #expect(simulate.status == 2 && simulate.err.hasPrefix(expected), "\(simulate.err)")
    }

    @Test func theReadmeSimulateSynopsisListsEveryOption() async throws {
        let readme = try String(contentsOfFile: "\(repositoryRoot)/README.md", encoding: .utf8)
        let start = try #require(readme.range(of: "`godispatch simulate --config F --event"))
        let synopsis = readme[start.lowerBound...].dropFirst().prefix { $0 != "`" }
        let help = try await runGodispatch(["simulate", "--help"])
        for option in ["--config", "--event", "--target", "--payload", "--as", "--perms", "--rooms", "--plugins"] {
            #expect(help.out.contains(option))
            #expect(synopsis.contains(option), "README's synopsis lacks \(option): \(synopsis)")
        }
    }
}
