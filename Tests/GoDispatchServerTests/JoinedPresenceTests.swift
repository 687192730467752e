import GoDispatchCore
import Testing

/// A room with both history and `presence: full`: `_joined` carries the presence state too.
@Suite struct JoinedPresenceTests {
    @Test func joinedCarriesThePresenceStateInAFullPresenceRoom() async throws {
        let rooms = """
            rooms:
              "team:*": { presence: full, history: { size: 10, ttl: 60s }, recovery: true }
              "log:*": { history: { size: 10, ttl: 60s } }
            """
        try await ServerHarness.with(config: rooms, events: HistoryEndToEndTests.events) { h in
            let alice = try await h.connect("alice")
            let first = try await HistoryEndToEndTests.join(alice, "team:red")
            #expect(first["presence"]?["count"] == .number("1"))
            #expect(first["presence"]?["users"]?["alice"]?["connections"] == .number("1"))
            let bob = try await h.connect("bob")
            let second = try await HistoryEndToEndTests.join(bob, "team:red")
            #expect(second["presence"]?["count"] == .number("2"))
            #expect(second["presence"]?["users"]?["bob"] != nil)
            // A room without presence: no `presence` in `_joined`.
            #expect(try await HistoryEndToEndTests.join(alice, "log:red")["presence"] == nil)
        }
    }
}
