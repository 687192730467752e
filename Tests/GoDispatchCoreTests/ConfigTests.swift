import Testing

@testable import GoDispatchCore

@Suite("Configuration loading")
struct ConfigTests {
    @Test func loadsTheSketch() throws {
        let config = try parseConfig(
            """
            server: { listen: "0.0.0.0:9000", path: /live, max_message_bytes: 1024 }
            auth:
              jwt: { algorithms: [HS256], secret: "${SECRET}", leeway: 5s }
            connections: { per_user_limit: 3, strategy: cycle }
            plugins: { directory: ./plugs, step_timeout: 250ms }
            events:
              room.join:
                pipeline:
                  - action: _join
                    params: { room: "{{target}}" }
              chat.send:
                requires: [chat:write]
                pipeline:
                  - id: fanout
                    action: _notify_room
                    params: { room: "{{target}}", event: chat.message, payload: { text: "{{payload.text}}", n: 1 } }
            """, file: "/etc/gd/config.yaml", environment: ["SECRET": "s3cret"])
        #expect(config.server.host == "0.0.0.0")
        #expect(config.server.port == 9000)
        #expect(config.server.path == "/live")
        #expect(config.server.maxMessageBytes == 1024)
        #expect(config.auth.jwt.secret == "s3cret")
        #expect(config.auth.jwt.leeway == .seconds(5))
        #expect(config.connections.perUserLimit == 3)
        #expect(config.connections.strategy == .cycle)
        #expect(config.plugins.directories == ["/etc/gd/plugs"])
        #expect(config.plugins.stepTimeout == .milliseconds(250))
        #expect(config.events.map(\.name) == ["room.join", "chat.send"])
        let step = config.events[1].pipeline[0]
        #expect(step.id?.value == "fanout")
        #expect(step.params.map(\.name) == ["room", "event", "payload"])
        #expect(step.params[2].value.value == .object([("text", .string("{{payload.text}}")), ("n", .number("1"))]))
        #expect(step.location == SourceLocation(file: "/etc/gd/config.yaml", line: 14, column: 9))
    }

    @Test func environmentSubstitution() throws {
        let env = EnvironmentSubstitution(environment: ["A": "1", "EMPTY": ""])
        #expect(try env.apply(to: "x${A}y") == "x1y")
        #expect(try env.apply(to: "${B:-fallback}") == "fallback")
        #expect(try env.apply(to: "${EMPTY:-used}") == "used")
        #expect(try env.apply(to: "$${A} costs $5") == "${A} costs $5")
        #expect(throws: TemplateError.self) { try env.apply(to: "${MISSING}") }
        #expect(throws: TemplateError.self) { try env.apply(to: "${bad name}") }
    }

    /// Each error class with the exact line and column it names.
    @Test(arguments: [
        // unknown top-level key
        ("auth: {jwt: {secret: s}}\nevents: {}\nservr: {}\n", 3, 1, "unknown key `servr`"),
        // unknown nested key, with the list of allowed keys
        ("auth: {jwt: {secret: s}}\nserver:\n  lisen: 1\nevents: {}\n", 3, 3, "allowed keys: listen"),
        // wrong type
        ("auth: {jwt: {secret: s}}\nserver:\n  max_message_bytes: lots\nevents: {}\n", 3, 22, "whole number"),
        ("auth: {jwt: {secret: s}}\nevents:\n  e:\n    pipeline: nope\n", 4, 15, "must be a list"),
        // missing required field
        ("auth: {jwt: {secret: s}}\nevents:\n  e:\n    pipeline:\n      - params: {}\n", 5, 9, "needs `action:`"),
        ("events: {}\n", 1, 1, "missing `auth:`"),
        ("auth: {jwt: {leeway: 1s}}\nevents: {}\n", 1, 13, "needs `secret:`"),
        // bad enum value
        ("auth: {jwt: {secret: s}}\nconnections: {strategy: random}\nevents: {}\n", 2, 25, "reject or cycle"),
        // bad duration
        ("auth: {jwt: {secret: s}}\nplugins: {step_timeout: soon}\nevents: {}\n", 2, 25, "duration"),
        // unset environment variable
        ("auth: {jwt: {secret: \"${NOPE}\"}}\nevents: {}\n", 1, 22, "NOPE is not set"),
        // YAML syntax
        ("auth: {jwt: {secret: s}\nevents: {}\n", 2, 1, "YAML syntax"),
        // unsupported algorithm
        ("auth: {jwt: {secret: s, algorithms: [none]}}\nevents: {}\n", 1, 38, "unsupported algorithm"),
    ])
    func errorsNameLineAndColumn(_ yaml: String, _ line: Int, _ column: Int, _ text: String) {
        let errors = configErrors(yaml)
        #expect(!errors.isEmpty, "expected an error containing \(text)")
        guard let error = errors.first(where: { $0.message.contains(text) }) else {
            Issue.record("no error mentions \(text): \(errors)")
            return
        }
        #expect(error.location == SourceLocation(file: "bad.yaml", line: line, column: column), "\(error)")
        #expect(error.description.hasPrefix("bad.yaml:\(line):\(column): error: "))
    }

    @Test func reportsEveryErrorAtOnce() {
        let errors = configErrors("auth: {jwt: {secret: s}}\nserver: {path: nope, listen: x}\nevents: {}\nextra: 1\n")
        #expect(errors.count == 3)
    }
}

@Suite("Durations too large to represent")
struct DurationLimitTests {
    static func yaml(stepTimeout: String = "10s", timeout: String = "2s", idle: String = "90s") -> String {
        """
        server: { idle_timeout: \(idle) }
        auth:
          jwt: { secret: test-secret }
        plugins: { step_timeout: \(stepTimeout) }
        events:
          ping:
            pipeline:
              - action: _notify_origin
                params: { event: pong }
                timeout: \(timeout)
        """
    }

    @Test(arguments: [
        (yaml(timeout: "1e20s"), "events.ping.pipeline[0].timeout", 10, 18),
        (yaml(stepTimeout: "10000000000s"), "plugins.step_timeout", 4, 26),
        (yaml(idle: "1e300h"), "server.idle_timeout", 1, 25),
        (yaml(timeout: "876001h"), "events.ping.pipeline[0].timeout", 10, 18),
    ])
    func areConfigErrorsWithTheirPlace(_ text: String, _ key: String, _ line: Int, _ column: Int) throws {
        let errors = configErrors(text)
        let error = try #require(errors.first, "no error for \(key)")
        #expect(error.description.contains("`\(key)` is too long"), "\(error)")
        #expect(error.location.line == line && error.location.column == column, "\(error)")
    }

    @Test func theLongestDurationIsAccepted() throws {
        let config = try parseConfig(Self.yaml(timeout: "876000h"))
        #expect(config.events[0].pipeline[0].timeout == .seconds(876_000 * 3600))
        #expect(Duration.seconds(876_000 * 3600).nanoseconds == 876_000 * 3600 * 1_000_000_000)
    }

    @Test func aReloadWithAHugeDurationKeepsTheRunningConfiguration() async throws {
        let h = try EngineHarness(events: "  ping:\n    pipeline:\n      - action: _notify_origin\n        params: { event: v1 }\n")
        do {
            _ = try h.engine.reload(try parseConfig(Self.yaml(stepTimeout: "10000000000s")))
            Issue.record("the reload was accepted")
        } catch {
            #expect("\(error)".contains("too long"))
        }
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"ping"}"#, from: alice)
        #expect(try #require(await client.nextFrame())["event"] == .string("v1"))
    }
}
