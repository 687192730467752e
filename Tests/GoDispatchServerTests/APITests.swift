import Foundation
import GoDispatchCore
import Testing

@testable import GoDispatchServer

/// The backend API end to end: a real API listener and a real WebSocket server on 127.0.0.1, real
/// clients with real JWTs, real plugins.
@Suite struct APITests {
    /// Connects `user` and joins `room` through the client protocol (waits for the `joined` answer).
    private func member(_ h: APIHarness, _ user: String, room: String, perms: [String] = []) async throws -> TestClient {
        let client = try await h.ws.connect(user, perms: perms)
        try await client.send(#"{"event":"room.join","target":"\#(room)"}"#)
        #expect(await client.nextJSON()?["event"] == .string("joined"))
        return client
    }

    @Test func aMissingOrWrongKeyIs401AndEitherRotatedKeyWorks() async throws {
        try await APIHarness.with { h in
            #expect(try await h.call("info", key: nil).status == 401)
            let wrong = try await h.call("info", key: "api-test-key-0123456789abcdeX")
            #expect(wrong.status == 401)
            #expect(wrong.errorCode == 101)
            #expect(try await h.call("info", key: APIHarness.key).status == 200)
            #expect(try await h.call("info", key: APIHarness.otherKey).result?["nodes"] != nil)
        }
    }

    @Test func aBodyOverTheLimitIs413AndTheServerServesOn() async throws {
        try await APIHarness.with(apiExtra: ", max_body_bytes: 2048") { h in
            let big = "{\"room\":\"r\",\"payload\":\"" + String(repeating: "x", count: 4096) + "\"}"
            let answer = try await h.call("publish", big)
            #expect(answer.status == 413)
            #expect(answer.errorCode == 106)
            #expect(try await h.call("publish", #"{"room":"r","payload":1}"#).result == .object([]))
        }
    }

    @Test func publishReachesEveryMemberWithoutFromInOursAndCentrifugosFieldNames() async throws {
        try await APIHarness.with { h in
            let alice = try await member(h, "alice", room: "lobby")
            let bob = try await member(h, "bob", room: "lobby")
            let ours = try await h.call("publish", #"{"room":"lobby","event":"news","payload":{"text":"hi"}}"#)
            #expect(ours.status == 200)
            #expect(ours.result == .object([]))
            for client in [alice, bob] {
                let frame = await client.nextJSON()
                #expect(frame == .object([("event", .string("news")), ("target", .string("lobby")), ("payload", .object([("text", .string("hi"))]))]))
                #expect(frame?["from"] == nil)
            }
            _ = try await h.call("publish", #"{"channel":"lobby","data":[1,2]}"#)
            let frame = await alice.nextJSON()
            #expect(frame?["event"] == .string("message"))  // api.default_event
            #expect(frame?["payload"] == .array([.number("1"), .number("2")]))
        }
    }

    @Test func aRetryWithTheSameIdempotencyKeySendsNothing() async throws {
        try await APIHarness.with { h in
            let alice = try await member(h, "alice", room: "lobby")
            let body = #"{"room":"lobby","payload":"once","idempotency_key":"k1"}"#
            #expect(try await h.call("publish", body).result == .object([]))
            #expect(try await h.call("publish", body).result == .object([]))
            _ = try await h.call("publish", #"{"room":"lobby","payload":"sentinel"}"#)
            #expect(await alice.nextJSON()?["payload"] == .string("once"))
            #expect(await alice.nextJSON()?["payload"] == .string("sentinel"))
            // The same key for another room is another publish.
            let other = try await member(h, "bob", room: "hall")
            _ = try await h.call("publish", #"{"room":"hall","payload":"once","idempotency_key":"k1"}"#)
            #expect(await other.nextJSON()?["payload"] == .string("once"))
        }
    }

    @Test func broadcastAnswersEachRoom() async throws {
        try await APIHarness.with { h in
            let a = try await member(h, "alice", room: "a")
            let b = try await member(h, "bob", room: "b")
            let answer = try await h.call("broadcast", #"{"channels":["a","b",""],"event":"tick","data":{}}"#)
            guard case .array(let responses)? = answer.result?["responses"] else {
                Issue.record("no responses: \(answer.text)")
                return
            }
            #expect(responses.count == 3)
            #expect(responses[0] == .object([("result", .object([]))]))
            #expect(responses[2]["error"]?["code"] == .number("107"))
            #expect(await a.nextJSON()?["target"] == .string("a"))
            #expect(await b.nextJSON()?["target"] == .string("b"))
        }
    }

    @Test func notifyUserReachesEveryConnectionOfTheUser() async throws {
        try await APIHarness.with { h in
            let one = try await h.ws.connect("carol")
            let two = try await h.ws.connect("carol")
            let answer = try await h.call("notify_user", #"{"user":"carol","event":"order.update","payload":{"id":7}}"#)
            #expect(answer.result == .object([("delivered", .number("2"))]))
            for client in [one, two] {
                let frame = await client.nextJSON()
                #expect(frame?["event"] == .string("order.update"))
                #expect(frame?["from"] == nil)
            }
            #expect(try await h.call("notify_user", #"{"user":"nobody","event":"x"}"#).result?["delivered"] == .number("0"))
        }
    }

    @Test func joinAndLeaveMoveTheUsersConnections() async throws {
        try await APIHarness.with { h in
            let dave = try await h.ws.connect("dave")
            #expect(try await h.call("subscribe", #"{"user":"dave","channel":"news"}"#).result?["joined"] == .number("1"))
            _ = try await h.call("publish", #"{"room":"news","payload":1}"#)
            #expect(await dave.nextJSON()?["payload"] == .number("1"))
            let rooms = try await h.call("rooms", #"{"pattern":"ne*"}"#)
            #expect(rooms.result?["rooms"] == .array([.object([("room", .string("news")), ("members", .number("1"))])]))
            #expect(rooms.result?["channels"]?["news"]?["num_clients"] == .number("1"))
            #expect(try await h.call("leave", #"{"user":"dave","room":"news"}"#).result?["left"] == .number("1"))
            _ = try await h.call("publish", #"{"room":"news","payload":2}"#)
            try await dave.send(#"{"event":"echo","payload":"sentinel"}"#)
            #expect(await dave.nextJSON()?["payload"] == .string("sentinel"))
            let unknown = try await h.call("join", #"{"user":"ghost","room":"news"}"#)
            #expect(unknown.errorCode == 102)
            #expect(try await h.call("join", #"{"user":"dave","room":"news","connection":"0000000000000000"}"#).errorCode == 102)
        }
    }

    @Test func disconnectClosesWithTheGivenCodeAndRefusesOthers() async throws {
        try await APIHarness.with { h in
            let erin = try await h.ws.connect("erin")
            let refused = try await h.call("disconnect", #"{"user":"erin","code":1001}"#)
            #expect(refused.errorCode == 107)
            #expect(refused.errorMessage?.contains("1001") == true)
            let answer = try await h.call("disconnect", #"{"user":"erin","disconnect":{"code":4005,"reason":"bye"}}"#)
            #expect(answer.result == .object([("closed", .number("1"))]))
            #expect(await erin.closeCode() == 4005)
        }
    }

    @Test func setPermissionsAppliesToTheUsersNextMessage() async throws {
        try await APIHarness.with { h in
            let frank = try await member(h, "frank", room: "r")
            try await frank.send(#"{"event":"chat.send","target":"r","payload":{"text":"no"}}"#)
            #expect(await frank.nextJSON()?.errorCode == "forbidden")
            #expect(try await h.call("set_permissions", #"{"user":"frank","add":["chat:write"]}"#).result == .object([]))
            try await frank.send(#"{"event":"chat.send","target":"r","payload":{"text":"yes"}}"#)
            #expect(await frank.nextJSON()?["payload"] == .object([("text", .string("yes"))]))
            let both = try await h.call("set_permissions", #"{"user":"frank","add":["a"],"remove":["b"]}"#)
            #expect(both.errorCode == 107)
        }
    }

    @Test func infoCountsWhatTheNodeHolds() async throws {
        try await APIHarness.with { h in
            _ = try await member(h, "gina", room: "x")
            _ = try await member(h, "gina", room: "y")
            let node = try await h.call("info").result?["nodes"]
            guard case .array(let nodes)? = node, let first = nodes.first else {
                Issue.record("no nodes")
                return
            }
            #expect(first["num_clients"] == .number("2"))
            #expect(first["num_users"] == .number("1"))
            #expect(first["num_rooms"] == .number("2"))
            #expect(first["version"] == .string(GoDispatchVersion.current))
        }
    }

    static let serverEvents = """
        server_events:
          order.shipped:
            payload_schema: { type: object, required: [order] }
            pipeline:
              - id: told
                action: _notify_user
                params: { user: "{{target}}", event: order.update, payload: "{{payload}}" }
              - action: _log
                when: "payload.quiet"
                params: { message: "quiet" }
          ban:
            pipeline:
              - action: _disconnect
                params: { user: "{{target}}", code: "{{payload.code}}" }
        """

    @Test func emitRunsAServerEventAndAnswersItsSteps() async throws {
        try await APIHarness.with(config: Self.serverEvents) { h in
            let jack = try await h.ws.connect("jack")
            let answer = try await h.call("emit", #"{"event":"order.shipped","target":"jack","payload":{"order":7}}"#)
            guard case .array(let steps)? = answer.result?["steps"] else {
                Issue.record("no steps: \(answer.text)")
                return
            }
            #expect(steps.count == 2)
            #expect(steps[0]["id"] == .string("told"))
            #expect(steps[0]["result"]?["delivered"] == .number("1"))
            #expect(steps[1]["skipped"] == .bool(true))
            let frame = await jack.nextJSON()
            #expect(frame?["event"] == .string("order.update"))
            #expect(frame?["payload"] == .object([("order", .number("7"))]))
            #expect(frame?["from"] == nil)

            let invalid = try await h.call("emit", #"{"event":"order.shipped","target":"jack","payload":{}}"#)
            #expect(invalid.errorCode == 107)
            #expect(invalid.json?["error"]?["reason"] == .string("invalid_payload"))
            let unknown = try await h.call("emit", #"{"event":"order.lost"}"#)
            #expect(unknown.errorCode == 102)
            #expect(unknown.errorMessage?.contains("order.shipped") == true, "lists the configured ones")
            let failed = try await h.call("emit", #"{"event":"ban","target":"jack","payload":{"code":999}}"#)
            #expect(failed.errorCode == 100)
            #expect(failed.json?["error"]?["reason"] == .string("action_failed"))
            #expect(try await h.call("emit", #"{"target":"jack"}"#).errorMessage == "`event` is required")
            // Inside a batch, too.
            let batch = try await h.call("batch", #"{"commands":[{"emit":{"event":"order.shipped","target":"jack","payload":{"order":8}}}]}"#)
            #expect(batch.json?["replies"] != nil)
            #expect(await jack.nextJSON()?["payload"] == .object([("order", .number("8"))]))
        }
    }

    @Test func batchRunsInOrderAndAnswersEachCommand() async throws {
        try await APIHarness.with { h in
            let hank = try await member(h, "hank", room: "b")
            let body = """
                {"commands":[{"publish":{"room":"b","payload":1}},{"nope":{}},{"publish":{"room":5}},
                {"publish":{"room":"b","payload":2}},{"batch":{"commands":[]}}]}
                """
            let answer = try await h.call("batch", body)
            guard case .array(let replies)? = answer.json?["replies"] else {
                Issue.record("no replies: \(answer.text)")
                return
            }
            #expect(replies.count == 5)
            #expect(replies[0] == .object([("publish", .object([]))]))
            #expect(replies[1]["error"]?["code"] == .number("104"))
            #expect(replies[2]["error"]?["message"] == .string("`commands[2].publish.room` must be a string"))
            #expect(replies[4]["error"]?["code"] == .number("107"))
            #expect(await hank.nextJSON()?["payload"] == .number("1"))
            #expect(await hank.nextJSON()?["payload"] == .number("2"))
        }
    }

    @Test func badInputGetsAnErrorNamingTheFieldAndTheServerServesOn() async throws {
        try await APIHarness.with { h in
            let malformed = try await h.call("publish", #"{"room": "#)
            #expect(malformed.status == 200)
            #expect(malformed.errorCode == 107)
            #expect(malformed.errorMessage?.contains("not valid JSON") == true)
            #expect(try await h.call("publish", "[1]").errorMessage?.contains("JSON object") == true)
            #expect(try await h.call("publish", #"{"room":"r","event":7}"#).errorMessage == "`event` must be a string")
            #expect(try await h.call("publish", #"{"payload":1}"#).errorMessage == "`room` or `channel` is required")
            let unknown = try await h.call("frobnicate")
            #expect(unknown.errorCode == 104)
            #expect(unknown.json?["error"]?["reason"] == .string("unknown_method"))
            #expect(try await h.request(.GET, "/api/publish", headers: [("X-API-Key", APIHarness.key)]).status == 405)
            #expect(try await h.request(.GET, "/nowhere").status == 404)
            #expect(try await h.call("info").status == 200)
        }
    }

    @Test func healthAndReadyFollowTheServersLifeThroughADrain() async throws {
        let h = try await APIHarness(serverExtra: ", drain_delay: 2s, shutdown_timeout: 60s")
        #expect(try await h.request(.GET, "/health").status == 200)
        #expect(try await h.request(.GET, "/ready").status == 200)
        let client = try await h.ws.connect("ivan")
        let shutdown = Task { await h.ws.server.shutdown() }
        // Draining: /ready says 503 at once, while connections stay open through the drain delay.
        var status = 0
        for _ in 0..<10_000 where status != 503 {
            status = try await h.request(.GET, "/ready").status
        }
        #expect(status == 503)
        #expect(try await h.request(.GET, "/ready").text.contains("draining"))
        try await client.send(#"{"event":"echo","payload":"still here"}"#)
        #expect(await client.nextJSON()?["payload"] == .string("still here"))
        // Then every connection is told the server is going away, and shutdown ends.
        #expect(await client.closeCode() == 1001)
        await shutdown.value
        #expect(try await h.request(.GET, "/health").status == 200)
        await h.api.shutdown()
        try? await h.ws.group.shutdownGracefully()
    }
}

/// The API's pure parts: key comparison, globs, the idempotency window.
@Suite struct APIPartsTests {
    @Test func keysCompareWholly() {
        let ring = APIKeyRing(["first-key-0123456789", "second-key-0123456789"])
        #expect(ring.accepts("first-key-0123456789"))
        #expect(ring.accepts("second-key-0123456789"))
        #expect(!ring.accepts("first-key-012345678"))
        #expect(!ring.accepts("first-key-01234567890"))
        #expect(!ring.accepts(""))
        #expect(!ring.accepts(nil))
        #expect(!APIKeyRing([]).accepts("anything"))
    }

    @Test func globsMatchWholeNames() {
        #expect(Glob("chat:*").matches("chat:lobby"))
        #expect(Glob("*").matches(""))
        #expect(Glob("a?c").matches("abc"))
        #expect(!Glob("a?c").matches("ac"))
        #expect(Glob("*:*:end").matches("x:y:z:end"))
        #expect(!Glob("chat:*").matches("user:chat:1"))
        #expect(!Glob(String(repeating: "*a", count: 30) + "b").matches(String(repeating: "a", count: 200)))
    }

    @Test func anIdempotentResultLastsItsWindowOnly() {
        let now = Locked(ContinuousClock.now)
        let cache = IdempotencyCache(window: .seconds(300), capacity: 10, clock: { now.withLock { $0 } })
        var sends = 0
        let publish = { () -> [UInt8] in
            sends += 1
            return Array("{}".utf8)
        }
        #expect(cache.result(room: "r", idempotencyKey: "k", publish: publish).repeated == false)
        #expect(cache.result(room: "r", idempotencyKey: "k", publish: publish).repeated == true)
        #expect(cache.result(room: "s", idempotencyKey: "k", publish: publish).repeated == false)
        now.withLock { $0 += .seconds(301) }
        #expect(cache.result(room: "r", idempotencyKey: "k", publish: publish).repeated == false)
        #expect(sends == 3)
        for index in 0..<50 { _ = cache.result(room: "r", idempotencyKey: "k\(index)", publish: publish) }
        #expect(cache.count <= 10)
    }
}
