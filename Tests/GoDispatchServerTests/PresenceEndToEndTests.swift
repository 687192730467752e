import Foundation
import GoDispatchCore
import GoDispatchServer
import JWTKit
import Testing

/// Presence and member caps over real sockets with the real bundled plugins.
@Suite("Presence end to end")
struct PresenceEndToEndTests {
    static let rooms = """
        rooms:
          "lobby":
            presence: full
            join_leave: true
            presence_interval: 1s
          "tabs":
            presence: full
            join_leave: true
            presence_interval: 50ms
          "named":
            presence: full
            presence_info: { name: "{{user.claims.name}}", seat: "{{payload.seat}}", id: "{{user.id}}" }
          "stats:*":
            presence: stats
          "small:*":
            max_members: 2
        """

    static let events = """
        events:
          room.join:
            pipeline:
              - action: _join
                params: { room: "{{target}}" }
              - action: _notify_origin
                params: { event: joined, target: "{{target}}" }
          room.leave:
            pipeline:
              - action: _leave
                params: { room: "{{target}}" }
              - action: _notify_origin
                params: { event: left, target: "{{target}}" }
          room.presence:
            pipeline:
              - action: _presence
                params: { room: "{{target}}" }
        """

    /// A token with a `name` claim besides the usual ones.
    struct NamedClaims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var name: String
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func namedToken(sub: String, name: String) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: ServerHarness.secret), digestAlgorithm: .sha256)
        return try await keys.sign(NamedClaims(sub: .init(value: sub), exp: .init(value: Date().addingTimeInterval(3600)), name: name))
    }

    /// Reads frames until one with `event`, returning it and the frames skipped before it.
    static func next(_ event: String, from client: TestClient) async -> (frame: JSONValue?, skipped: [JSONValue]) {
        var skipped: [JSONValue] = []
        while let frame = await client.nextJSON() {
            if frame["event"] == .string(event) { return (frame, skipped) }
            skipped.append(frame)
        }
        return (nil, skipped)
    }

    /// Joins `room` and waits for the acknowledgement (or the error frame).
    static func join(_ client: TestClient, _ room: String, payload: String = "{}") async throws -> JSONValue? {
        try await client.send(#"{"event":"room.join","target":"\#(room)","payload":\#(payload)}"#)
        while let frame = await client.nextJSON() {
            if frame["event"] == .string("joined") || frame["event"] == .string("error") { return frame }
        }
        return nil
    }

    static func users(_ frame: JSONValue, _ key: String) -> [String] {
        guard case .object(let members)? = frame["payload"]?[key] else { return [] }
        return members.map(\.0)
    }

    @Test func aBurstOfAThousandJoinsCostsEachWatcherAFewFramesAndTheStateIsExact() async throws {
        try await ServerHarness.with(config: Self.rooms, events: Self.events) { h in
            var watchers: [TestClient] = []
            for index in 0..<3 {
                let watcher = try await h.connect("watcher\(index)")
                #expect(try await Self.join(watcher, "lobby")?["event"] == .string("joined"))
                watchers.append(watcher)
            }
            var clients: [TestClient] = []
            for index in 0..<1000 { clients.append(try await h.connect("user\(index / 2)")) }
            // Every join is sent before any acknowledgement is awaited: one burst.
            for client in clients { try await client.send(#"{"event":"room.join","target":"lobby"}"#) }
            for client in clients {
                let ack = await Self.next("joined", from: client).frame
                #expect(ack?["target"] == .string("lobby"))
            }
            let expected = Set((0..<500).map { "user\($0)" })
            for watcher in watchers {
                var joined: Set<String> = []
                var frames = 0
                while !expected.isSubset(of: joined) {
                    let (frame, _) = await Self.next("_presence", from: watcher)
                    guard let frame else { break }
                    frames += 1
                    #expect(Self.users(frame, "leaves").isEmpty, "nobody left")
                    joined.formUnion(Self.users(frame, "joins"))
                }
                #expect(expected.isSubset(of: joined), "every user's join reached the watcher")
                #expect(frames <= 6, "1,000 joins in a burst cost a watcher \(frames) _presence frames, not hundreds")
            }
            try await watchers[0].send(#"{"event":"room.presence","target":"lobby"}"#)
            let state = await Self.next("_presence_state", from: watchers[0]).frame
            #expect(state?["target"] == .string("lobby"))
            #expect(state?["payload"]?["count"] == .number("503"))
            guard case .object(let users)? = state?["payload"]?["users"] else {
                Issue.record("no users in \(String(describing: state))")
                return
            }
            #expect(users.count == 503)
            for user in expected { #expect(users.first { $0.0 == user }?.1["connections"] == .number("2"), "\(user)") }
            #expect(users.first { $0.0 == "watcher0" }?.1["connections"] == .number("1"))
        }
    }

    @Test func aUserLeavesOnlyWithItsLastTab() async throws {
        try await ServerHarness.with(config: Self.rooms, events: Self.events) { h in
            let watcher = try await h.connect("watcher")
            #expect(try await Self.join(watcher, "tabs")?["event"] == .string("joined"))
            let tab1 = try await h.connect("alice")
            let tab2 = try await h.connect("alice")
            #expect(try await Self.join(tab1, "tabs")?["event"] == .string("joined"))
            #expect(try await Self.join(tab2, "tabs")?["event"] == .string("joined"))
            var aliceJoins = 0
            var aliceLeaves = 0
            /// Reads diffs until `sentinel` shows up in `key`, counting alice's joins and leaves on the way.
            func readUntil(_ sentinel: String, in key: String) async {
                while let frame = await Self.next("_presence", from: watcher).frame {
                    aliceJoins += Self.users(frame, "joins").filter { $0 == "alice" }.count
                    aliceLeaves += Self.users(frame, "leaves").filter { $0 == "alice" }.count
                    if Self.users(frame, key).contains(sentinel) { return }
                }
                Issue.record("no diff with \(sentinel) in \(key)")
            }
            // Bob's join is a sentinel: diffs go out in order, so a leave of alice caused before it would be
            // in the same frame or an earlier one.
            try await tab1.send(#"{"event":"room.leave","target":"tabs"}"#)
            #expect(await Self.next("left", from: tab1).frame != nil)
            let bob = try await h.connect("bob")
            #expect(try await Self.join(bob, "tabs")?["event"] == .string("joined"))
            await readUntil("bob", in: "joins")
            #expect(aliceJoins == 1, "two tabs are one join")
            #expect(aliceLeaves == 0, "closing one of two tabs is no leave")
            try await tab2.send(#"{"event":"room.leave","target":"tabs"}"#)
            #expect(await Self.next("left", from: tab2).frame != nil)
            try await bob.send(#"{"event":"room.leave","target":"tabs"}"#)
            await readUntil("bob", in: "leaves")
            #expect(aliceLeaves == 1, "leaving with the last tab is one leave")
            try await watcher.send(#"{"event":"room.presence","target":"tabs"}"#)
            let state = await Self.next("_presence_state", from: watcher).frame
            #expect(state?["payload"]?["count"] == .number("1"))
        }
    }

    @Test func statsPresenceAnswersCountsWithoutUsers() async throws {
        try await ServerHarness.with(config: Self.rooms, events: Self.events) { h in
            let a1 = try await h.connect("alice")
            let a2 = try await h.connect("alice")
            let b = try await h.connect("bob")
            for client in [a1, a2, b] { #expect(try await Self.join(client, "stats:1")?["event"] == .string("joined")) }
            try await b.send(#"{"event":"room.presence","target":"stats:1"}"#)
            let state = await Self.next("_presence_state", from: b).frame
            #expect(state?["payload"] == .object([("count", .number("2")), ("connections", .number("3"))]))
            try await b.send(#"{"event":"room.presence","target":"plain"}"#)
            let refused = await Self.next("error", from: b).frame
            #expect(refused?.errorCode == "action_failed", "a room without presence answers an error")
        }
    }

    @Test func presenceInfoReadsTheTokensClaimsAndTheJoinPayload() async throws {
        try await ServerHarness.with(config: Self.rooms, events: Self.events) { h in
            let carol = try await h.connect(token: try await Self.namedToken(sub: "carol", name: "Carol C."))
            #expect(try await Self.join(carol, "named", payload: #"{"seat":7}"#)?["event"] == .string("joined"))
            try await carol.send(#"{"event":"room.presence","target":"named"}"#)
            let state = await Self.next("_presence_state", from: carol).frame
            let info = state?["payload"]?["users"]?["carol"]?["info"]
            #expect(info == .object([("name", .string("Carol C.")), ("seat", .number("7")), ("id", .string("carol"))]))
            #expect(state?["payload"]?["users"]?["carol"]?["connections"] == .number("1"))
        }
    }

    @Test func maxMembersRefusesJoinsWithRoomFull() async throws {
        try await APIHarness.with(config: Self.rooms, events: Self.events) { h in
            let a = try await h.ws.connect("alice")
            let b = try await h.ws.connect("bob")
            let c = try await h.ws.connect("carol")
            #expect(try await Self.join(a, "small:1")?["event"] == .string("joined"))
            #expect(try await Self.join(b, "small:1")?["event"] == .string("joined"))
            let refused = try await Self.join(c, "small:1")
            #expect(refused?.errorCode == "room_full")
            let api = try await h.call("join", #"{"user":"carol","room":"small:1"}"#)
            #expect(api.errorCode == 106)
            #expect(api.json?["error"]?["reason"] == .string("room_full"))
            try await b.send(#"{"event":"room.leave","target":"small:1"}"#)
            #expect(await Self.next("left", from: b).frame != nil)
            let joined = try await h.call("join", #"{"user":"carol","room":"small:1"}"#)
            #expect(joined.result == .object([("joined", .number("1"))]), "a freed place can be taken")
        }
    }

    @Test func theAPIAnswersPresenceAndPresenceStats() async throws {
        try await APIHarness.with(config: Self.rooms, events: Self.events) { h in
            let a1 = try await h.ws.connect("alice")
            let a2 = try await h.ws.connect("alice")
            let b = try await h.ws.connect("bob")
            for client in [a1, a2, b] { #expect(try await Self.join(client, "lobby")?["event"] == .string("joined")) }
            let stats = try await h.call("presence_stats", #"{"channel":"lobby"}"#)
            #expect(stats.result == .object([("num_clients", .number("3")), ("num_users", .number("2"))]))
            let presence = try await h.call("presence", #"{"room":"lobby"}"#)
            guard case .object(let entries)? = presence.result?["presence"] else {
                Issue.record("no presence in \(presence.text)")
                return
            }
            #expect(entries.count == 3)
            #expect(entries.filter { $0.1["user"] == .string("alice") }.count == 2)
            for (id, entry) in entries { #expect(entry["client"] == .string(id)) }
            let empty = try await h.call("presence_stats", #"{"room":"tabs"}"#)
            #expect(empty.result == .object([("num_clients", .number("0")), ("num_users", .number("0"))]))
            #expect(try await h.call("presence", "{}").errorCode == 107)
        }
    }

    @Test func theAPIPresenceCarriesPresenceInfoAsChanInfo() async throws {
        try await APIHarness.with(config: Self.rooms, events: Self.events) { h in
            let a = try await h.ws.connect(token: try await Self.namedToken(sub: "alice", name: "Alice"))
            #expect(try await Self.join(a, "named", payload: #"{"seat":"3A"}"#)?["event"] == .string("joined"))
            let presence = try await h.call("presence", #"{"room":"named"}"#)
            guard case .object(let entries)? = presence.result?["presence"], let entry = entries.first?.1 else {
                Issue.record("no presence in \(presence.text)")
                return
            }
            #expect(entry["chan_info"] == .object([("name", .string("Alice")), ("seat", .string("3A")), ("id", .string("alice"))]))
        }
    }

    @Test func theAPIRefusesPresenceWhereTheRoomKeepsNone() async throws {
        try await APIHarness.with(config: Self.rooms, events: Self.events) { h in
            let a = try await h.ws.connect("alice")
            for room in ["news", "stats:1"] { #expect(try await Self.join(a, room)?["event"] == .string("joined")) }
            let off = try await h.call("presence", #"{"room":"news"}"#)
            #expect(off.errorCode == 108)
            #expect(off.json?["error"]?["reason"] == .string("not_available"))
            #expect(try await h.call("presence_stats", #"{"room":"news"}"#).errorCode == 108)
            // Counts only: the list is refused, the counts answer.
            #expect(try await h.call("presence", #"{"room":"stats:1"}"#).errorCode == 108)
            let stats = try await h.call("presence_stats", #"{"room":"stats:1"}"#)
            #expect(stats.result == .object([("num_clients", .number("1")), ("num_users", .number("1"))]))
        }
    }
}
