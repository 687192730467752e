import Testing

@testable import GoDispatchCore

@Suite("Configuration of rooms: presence, history and recovery per pattern")
struct RoomRulesConfigTests {
    @Test func everyKeyAndTheMostSpecificRuleWins() throws {
        let config = try parseConfig(
            """
            auth: {jwt: {secret: s}}
            rooms:
              "*": { presence: stats }
              "chat:*":
                presence: full
                join_leave: true
                presence_interval: 250ms
                presence_info: { name: "{{user.id}}" }
                max_members: 1000
                history: { size: 100, ttl: 300s }
                recovery: true
                recovery_max: 50
              "chat:lobby": { history: { size: 10, ttl: 1m } }
              "chat:vip:*": { presence: off }
            events: {}
            """)
        let rules = config.rooms
        let chat = try #require(rules.rule(for: "chat:general"))
        #expect(chat.pattern == "chat:*")
        #expect(chat.presence == .full)
        #expect(chat.joinLeave)
        #expect(chat.presenceInterval == .milliseconds(250))
        #expect(chat.maxMembers == 1000)
        #expect(chat.history == HistorySettings(size: 100, ttl: .seconds(300)))
        #expect(chat.recovery)
        #expect(chat.recoveryMax == 50)
        #expect(chat.presenceInfo?.value == .object([("name", .string("{{user.id}}"))]))
        #expect(rules.rule(for: "chat:lobby")?.pattern == "chat:lobby", "an exact name beats any glob")
        #expect(rules.rule(for: "chat:vip:1")?.pattern == "chat:vip:*", "more literal characters win")
        #expect(rules.rule(for: "news")?.pattern == "*")
        #expect(try parseConfig("auth: {jwt: {secret: s}}\nevents: {}\n").rooms.rule(for: "x") == nil)
    }

    /// Each error with the exact line and column it names.
    @Test(arguments: [
        ("rooms: { a: { presence: some } }\n", 1, 25, "must be off, stats or full"),
        ("rooms: { a: { recovery: true } }\n", 1, 25, "`rooms.a.recovery` needs `history:`"),
        ("rooms: { a: { join_leave: true } }\n", 1, 27, "needs `presence: full`"),
        ("rooms: { a: { history: { size: 10 } } }\n", 1, 24, "needs `size:` and `ttl:`"),
        ("rooms: { a: { history: { size: 0, ttl: 1s } } }\n", 1, 32, "`rooms.a.history.size` must be a whole number"),
        ("rooms: { a: { history: { size: 5, ttl: 0s } } }\n", 1, 40, "must be longer than 0"),
        ("rooms: { a: { join_leave: maybe } }\n", 1, 27, "must be true or false"),
        ("rooms: { a: { presense: full } }\n", 1, 15, "unknown key `presense`"),
        ("rooms: { a: { presence_interval: 1ms } }\n", 1, 34, "at least 10ms"),
        ("rooms: { a: { max_members: 0 } }\n", 1, 28, "`rooms.a.max_members` must be a whole number"),
    ])
    func errorsNameLineAndColumn(_ body: String, _ line: Int, _ column: Int, _ text: String) {
        let errors = configErrors(body + "auth: {jwt: {secret: s}}\nevents: {}\n")
        guard let error = errors.first(where: { $0.message.contains(text) }) else {
            Issue.record("no error mentions \(text): \(errors)")
            return
        }
        #expect(error.location == SourceLocation(file: "bad.yaml", line: line, column: column), "\(error)")
    }
}
