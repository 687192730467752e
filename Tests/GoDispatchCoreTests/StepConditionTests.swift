import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

@Suite("Step conditions (`when:`)")
struct StepConditionTests {
    let state = InMemoryStateManager()

    func holds(_ source: String, payload: String = #"{"n":5,"name":"ada","tags":["a","b"],"muted":false,"meta":{"k":1}}"#) throws -> Bool {
        let connection = state.connect(userID: "alice", permissions: ["admin", "chat:write"], transport: TestTransport())
        let cargo = Cargo(
            message: try EnvelopeParser.parse(Array(#"{"event":"e","target":"lobby","payload":\#(payload)}"#.utf8)),
            origin: connection)
        return try ConditionParser.parse(source).evaluate(cargo)
    }

    @Test(arguments: [
        // equality and inequality
        ("target == 'lobby'", true), ("target == \"hall\"", false), ("payload.name != 'bob'", true), ("payload.n == 5.0", true),
        // membership: array element, object key, substring
        ("'admin' in user.perms", true), ("'root' in user.perms", false), ("'b' in payload.tags", true),
        ("'k' in payload.meta", true), ("'da' in payload.name", true),
        // existence and truthiness
        ("exists(payload.name)", true), ("exists(payload.nope)", false), ("payload.muted", false), ("payload.name", true),
        ("payload.nope", false),
        // numeric comparisons (numbers only)
        ("payload.n > 3", true), ("payload.n >= 5", true), ("payload.n < 5", false), ("payload.n <= 4", false),
        ("payload.name > 3", false),
        // and / or / not and grouping
        ("payload.n > 3 and 'admin' in user.perms", true), ("payload.n > 9 or target == 'lobby'", true),
        ("not payload.muted", true), ("not (payload.n > 3 and payload.muted)", true), ("payload.n > 9 or (not exists(payload.x) and true)", true),
        ("null == payload.nope", true),
    ])
    func eachForm(_ source: String, _ expected: Bool) throws {
        #expect(try holds(source) == expected, "\(source)")
    }

    @Test(arguments: [
        ("", "is empty"), ("payload.n >", "ends too early"), ("payload.n = 3", "is not an operator"), ("(payload.n > 3", "missing `)`"),
        ("nope.x == 1", "unknown template"), ("'open", "unterminated string"), ("payload.n > 3 3", "unexpected 3"),
    ])
    func malformedConditionsAreRefused(_ source: String, _ text: String) {
        #expect {
            _ = try ConditionParser.parse(source)
        } throws: { error in
            (error as? TemplateError)?.message.contains(text) == true
        }
    }

    @Test func aFalseConditionSkipsTheStepAndTheRestRuns() async throws {
        let h = try EngineHarness(
            events: """
                  say:
                    pipeline:
                      - action: _notify_origin
                        when: "'admin' in user.perms"
                        params: { event: admin-only }
                      - action: _notify_origin
                        when: payload.loud == true
                        params: { event: loud }
                      - action: _notify_origin
                        params: { event: done }

                """)
        let (user, client) = h.connect("bob", perms: [])
        h.send(#"{"event":"say","payload":{"loud":true}}"#, from: user)
        #expect(await client.nextFrame()?["event"] == .string("loud"))
        #expect(await client.nextFrame()?["event"] == .string("done"))
        let (admin, adminClient) = h.connect("root", perms: ["admin"])
        h.send(#"{"event":"say"}"#, from: admin)
        #expect(await adminClient.nextFrame()?["event"] == .string("admin-only"))
        #expect(await adminClient.nextFrame()?["event"] == .string("done"))
    }

    @Test func aBadConditionIsALoadErrorAtItsLine() throws {
        do {
            _ = try makeEngine(configHead + "\nevents:\n  e:\n    pipeline:\n      - action: _log\n        when: \"payload.n =! 3\"\n        params: { message: x }\n")
            Issue.record("expected a load error")
        } catch let error as EngineStartError {
            let first = try #require(error.config?.errors.first)
            #expect(first.location.line == 8 && first.location.column == 15, "\(first)")
            #expect(first.message.contains("is not an operator"))
        }
    }
}
