import GoDispatchCore
import Testing

@testable import GoDispatchServer

/// The backend API of rooms with history: `history`, `history_remove`, and positions in `publish`,
/// `broadcast` and `batch` answers.
@Suite struct HistoryAPITests {
    static let rooms = """
        rooms:
          "chat:*": { history: { size: 100, ttl: 300s }, recovery: true }
        """

    static func int(_ value: JSONValue?) -> Int? {
        guard case .number(let text)? = value else { return nil }
        return Int(text)
    }

    /// The offsets of a `history` result's publications.
    static func offsets(_ result: JSONValue?) -> [Int?] {
        guard case .array(let publications)? = result?["publications"] else { return [] }
        return publications.map { int($0["offset"]) }
    }

    @Test func publishAnswersTheOffsetAndEpochInRoomsWithHistoryOnly() async throws {
        try await APIHarness.with(config: Self.rooms) { h in
            let first = try #require(try await h.call("publish", #"{"room":"chat:a","payload":{"n":1}}"#).result)
            #expect(Self.int(first["offset"]) == 1)
            guard case .string(let epoch)? = first["epoch"] else { Issue.record("no epoch: \(first)"); return }
            let second = try await h.call("publish", #"{"channel":"chat:a","data":{"n":2}}"#).result
            #expect(second == .object([("offset", .number("2")), ("epoch", .string(epoch))]))
            #expect(try await h.call("publish", #"{"room":"plain","payload":1}"#).result == .object([]))
            let broadcast = try await h.call("broadcast", #"{"rooms":["chat:a","plain","chat:b"],"payload":3}"#).result
            #expect(Self.int(broadcast?["responses"]?[0]?["result"]?["offset"]) == 3)
            #expect(broadcast?["responses"]?[1]?["result"] == .object([]))
            #expect(Self.int(broadcast?["responses"]?[2]?["result"]?["offset"]) == 1)
            let batch = try await h.call("batch", #"{"commands":[{"publish":{"room":"chat:a","payload":4}}]}"#).json
            #expect(Self.int(batch?["replies"]?[0]?["publish"]?["offset"]) == 4, "\(String(describing: batch))")
        }
    }

    @Test func serverEventsNumberTheirRoomFramesAndTheUserFramesAreNotHistory() async throws {
        let config = Self.rooms + """

            server_events:
              announce:
                pipeline:
                  - action: _notify_room
                    params: { room: "{{target}}", event: announcement, payload: "{{payload}}" }
                  - action: _notify_user
                    params: { user: alice, event: personal, target: "{{target}}", payload: "{{payload}}" }
            """
        try await APIHarness.with(config: config) { h in
            let alice = try await h.ws.connect("alice")
            try await alice.send(#"{"event":"room.join","target":"chat:news"}"#)
            #expect(await alice.nextJSON()?["event"] == .string("joined"))
            #expect(try await h.call("emit", #"{"event":"announce","target":"chat:news","payload":{"v":1}}"#).status == 200)
            let announcement = try #require(await alice.nextJSON())
            #expect(announcement["event"] == .string("announcement"))
            #expect(Self.int(announcement["offset"]) == 1)
            #expect(announcement["from"] == nil)
            let personal = try #require(await alice.nextJSON())
            #expect(personal["event"] == .string("personal"))
            #expect(personal["offset"] == nil, "frames to one user are not history")
            let history = try #require(try await h.call("history", #"{"room":"chat:news","limit":-1}"#).result)
            #expect(Self.offsets(history) == [1])
            #expect(history["publications"]?[0]?["event"] == .string("announcement"))
        }
    }

    @Test func historyGivesCentrifugoShapedPublicationsAndRemoveKeepsThePosition() async throws {
        try await APIHarness.with(config: Self.rooms) { h in
            let alice = try await h.ws.connect("alice", perms: ["chat:write"])
            try await alice.send(#"{"event":"room.join","target":"chat:a"}"#)
            #expect(await alice.nextJSON()?["event"] == .string("joined"))
            try await alice.send(#"{"event":"chat.send","target":"chat:a","payload":{"text":"from alice"}}"#)
            #expect(Self.int(await alice.nextJSON()?["offset"]) == 1)
            for n in 2...5 { _ = try await h.call("publish", #"{"room":"chat:a","event":"news","payload":{"n":\#(n)}}"#) }
            let all = try #require(try await h.call("history", #"{"room":"chat:a","limit":-1}"#).result)
            guard case .string(let epoch)? = all["epoch"] else { Issue.record("no epoch: \(all)"); return }
            #expect(Self.int(all["offset"]) == 5)
            #expect(all["publications"]?[0] == .object([
                ("offset", .number("1")), ("event", .string("chat.message")), ("data", .object([("text", .string("from alice"))])),
                ("from", .string("alice")),
            ]))
            #expect(all["publications"]?[1] == .object([("offset", .number("2")), ("event", .string("news")), ("data", .object([("n", .number("2"))]))]))
            let positionOnly = try await h.call("history", #"{"channel":"chat:a"}"#).result
            #expect(positionOnly == .object([("publications", .array([])), ("offset", .number("5")), ("epoch", .string(epoch))]))
            let since = try await h.call("history", #"{"room":"chat:a","limit":2,"since":{"offset":2,"epoch":"\#(epoch)"}}"#).result
            #expect(Self.offsets(since) == [3, 4])
            let reverse = try await h.call("history", #"{"room":"chat:a","limit":2,"reverse":true}"#).result
            #expect(Self.offsets(reverse) == [5, 4])
            #expect(try await h.call("history", #"{"room":"chat:a","limit":1,"since":{"offset":2,"epoch":"other"}}"#).errorCode == 112)
            #expect(try await h.call("history", #"{"room":"plain","limit":1}"#).errorCode == 108)
            #expect(try await h.call("history", #"{"limit":1}"#).errorCode == 107)
            #expect(try await h.call("history_remove", #"{"room":"chat:a"}"#).result == .object([]))
            let after = try await h.call("history", #"{"room":"chat:a","limit":-1}"#).result
            #expect(after == .object([("publications", .array([])), ("offset", .number("5")), ("epoch", .string(epoch))]))
            #expect(Self.int(try await h.call("publish", #"{"room":"chat:a","payload":6}"#).result?["offset"]) == 6)
            #expect(try await h.call("history_remove", #"{"room":"plain"}"#).errorCode == 108)
        }
    }
}

extension JSONValue {
    /// The element at `index` of an array (nil otherwise).
    fileprivate subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
