import Testing

@testable import GoDispatchCore

@Suite("Router and pipeline through the real plugins")
struct PipelineTests {
    static let chatEvents = """
          room.join:
            pipeline:
              - action: _join
                params: { room: "{{target}}" }
          room.leave:
            pipeline:
              - action: _leave
                params: { room: "{{target}}" }
          chat.send:
            requires: [chat:write]
            pipeline:
              - id: fanout
                action: _notify_room
                params:
                  room: "{{target}}"
                  event: chat.message
                  payload: { text: "{{payload.text}}", from: "{{user.id}}" }
              - action: _notify_origin
                params: { event: chat.ack, payload: { ref: "{{message.id}}", delivered: "{{steps.fanout.delivered}}" } }
          room.say:
            requires: ["room:{{target}}:write"]
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: said, payload: "{{payload}}", allow_non_member: true }
          dm:
            pipeline:
              - action: _notify_user
                params: { user: "{{payload.to}}", event: dm, payload: { text: "{{payload.text}}" } }

        """

    @Test func joinThenNotifyRoomReachesExactlyTheMembers() async throws {
        let h = try EngineHarness(events: Self.chatEvents)
        let (alice, aliceClient) = h.connect("alice", perms: ["chat:write"])
        let (bob, bobClient) = h.connect("bob")
        let (carol, carolClient) = h.connect("carol", perms: ["chat:write"])
        h.send(#"{"event":"room.join","target":"lobby"}"#, from: alice)
        h.send(#"{"event":"room.join","target":"lobby"}"#, from: bob)
        h.send(#"{"event":"room.join","target":"kitchen"}"#, from: carol)
        // Joins finish on each connection's own executor; wait until the room has both members.
        try await eventually { h.engine.state.members(ofRoom: "lobby").count == 2 }

        h.send(#"{"event":"chat.send","target":"lobby","id":"m1","payload":{"text":"hi \"bob\""}}"#, from: alice)
        let expected = JSONValue.object([
            ("event", .string("chat.message")), ("target", .string("lobby")),
            ("payload", .object([("text", .string("hi \"bob\"")), ("from", .string("alice"))])),
            ("from", .string("alice")),
        ])
        #expect(await bobClient.nextFrame() == expected)
        #expect(await aliceClient.nextFrame() == expected)
        let ack = try #require(await aliceClient.nextFrame())
        #expect(ack["event"] == .string("chat.ack"))
        #expect(ack["payload"] == .object([("ref", .string("m1")), ("delivered", .number("2"))]))
        // Sentinel: Carol's own message to her room is the next frame she gets (a leaked frame from the
        // lobby would have been recorded before it).
        h.send(#"{"event":"chat.send","target":"kitchen","id":"c1","payload":{"text":"sentinel"}}"#, from: carol)
        let sentinel = try #require(await carolClient.nextFrame())
        #expect(sentinel["target"] == .string("kitchen"), "a non-member received \(sentinel.jsonText)")
    }

    @Test func repliesToTheOriginCarryTheMessagesIdAsRefAndRoomFramesDoNot() async throws {
        let h = try EngineHarness(events: Self.chatEvents)
        let (alice, aliceClient) = h.connect("alice", perms: ["chat:write"])
        h.send(#"{"event":"room.join","target":"lobby"}"#, from: alice)
        try await eventually { h.engine.state.members(ofRoom: "lobby").count == 1 }
        for (id, ref) in [(#""m7""#, JSONValue.string("m7")), ("42", .number("42"))] {
            h.send(#"{"event":"chat.send","target":"lobby","id":\#(id),"payload":{"text":"hi"}}"#, from: alice)
            let roomFrame = try #require(await aliceClient.nextFrame())
            #expect(roomFrame["event"] == .string("chat.message"))
            #expect(roomFrame["ref"] == nil, "a room frame is not a reply: \(roomFrame.jsonText)")
            let ack = try #require(await aliceClient.nextFrame())
            #expect(ack["event"] == .string("chat.ack"))
            #expect(ack["ref"] == ref, "\(ack.jsonText)")
        }
        h.send(#"{"event":"chat.send","target":"lobby","payload":{"text":"no id"}}"#, from: alice)
        _ = await aliceClient.nextFrame()
        let ack = try #require(await aliceClient.nextFrame())
        #expect(ack["event"] == .string("chat.ack"))
        #expect(ack["ref"] == nil, "a message without id gets replies without ref: \(ack.jsonText)")
    }

    @Test func aJoinStepWithoutSinceSendsNoJoinedButFramesStillCarryTheirPosition() async throws {
        let events = """
              plain.join:
                pipeline:
                  - action: _join
                    params: { room: "{{target}}" }
              recovering.join:
                pipeline:
                  - action: _join
                    params: { room: "{{target}}", since: "{{payload.since}}" }
              say:
                pipeline:
                  - action: _notify_room
                    params: { room: "{{target}}", event: said, payload: "{{payload}}" }
            """
        let h = try EngineHarness(events: events, extra: "rooms:\n  \"*\": { history: { size: 10, ttl: 60s }, recovery: true }")
        let (alice, aliceClient) = h.connect("alice")
        let (bob, bobClient) = h.connect("bob")
        h.send(#"{"event":"plain.join","target":"r"}"#, from: alice)
        h.send(#"{"event":"recovering.join","target":"r"}"#, from: bob)
        let joined = try #require(await bobClient.nextFrame())
        #expect(joined["event"] == .string("_joined"), "a step with `since` answers _joined: \(joined.jsonText)")
        try await eventually { h.engine.state.members(ofRoom: "r").count == 2 }
        h.send(#"{"event":"say","target":"r","payload":1}"#, from: alice)
        let first = try #require(await aliceClient.nextFrame())
        #expect(first["event"] == .string("said"), "no _joined without `since`: \(first.jsonText)")
        #expect(first["offset"] == .number("1"))
        #expect(first["epoch"] == joined["payload"]?["epoch"])
    }

    @Test func errorsComeBackAsFramesAndTheConnectionLives() async throws {
        let h = try EngineHarness(events: Self.chatEvents)
        let (alice, client) = h.connect("alice")
        let cases: [(String, String)] = [
            ("{not json", "bad_request"),
            (#"{"target":"x"}"#, "bad_request"),
            (#"{"event":42}"#, "bad_request"),
            (#"["event"]"#, "bad_request"),
            (#"{"event":"no.such","id":5}"#, "unknown_event"),
            (#"{"event":"chat.send","target":"lobby","id":"m2"}"#, "forbidden"),
        ]
        for (message, code) in cases {
            h.send(message, from: alice)
            let frame = try #require(await client.nextFrame(), "no reply to \(message)")
            #expect(frame.errorCode == code, "\(message) → \(frame.jsonText)")
        }
        h.send(#"{"event":"no.such","id":5}"#, from: alice)
        #expect(await client.nextFrame()?["payload"]?["ref"] == .number("5"), "the id is echoed as ref")
        // Still usable.
        h.send(#"{"event":"room.join","target":"lobby"}"#, from: alice)
        try await eventually { h.engine.state.members(ofRoom: "lobby").count == 1 }
    }

    @Test func permissionsAreLiveAndSharedByAllConnectionsOfAUser() async throws {
        let h = try EngineHarness(events: Self.chatEvents)
        let (first, firstClient) = h.connect("alice", perms: ["room:lobby:write"])
        let (second, secondClient) = h.connect("alice", perms: [])
        #expect(first.user === second.user, "one canonical User per user id")
        h.send(#"{"event":"room.join","target":"lobby"}"#, from: first)
        try await eventually { h.engine.state.members(ofRoom: "lobby").count == 1 }

        h.send(#"{"event":"room.say","target":"lobby","payload":[1,2]}"#, from: second)
        #expect(await firstClient.nextFrame()?["payload"] == .array([.number("1"), .number("2")]))
        h.send(#"{"event":"room.say","target":"other","payload":1}"#, from: second)
        #expect(await secondClient.nextFrame()?.errorCode == "forbidden", "room-scoped permission via a template")

        first.user.permissions.remove(["room:lobby:write"])
        h.send(#"{"event":"room.say","target":"lobby","payload":1}"#, from: second)
        #expect(await secondClient.nextFrame()?.errorCode == "forbidden")
        second.user.permissions.add(["room:lobby:write"])
        h.send(#"{"event":"room.say","target":"lobby","payload":"back"}"#, from: first)
        #expect(await firstClient.nextFrame()?["payload"] == .string("back"))
    }

    @Test func directMessagesReachEveryConnectionOfTheUser() async throws {
        let h = try EngineHarness(events: Self.chatEvents)
        let (alice, _) = h.connect("alice")
        let (_, bobPhone) = h.connect("bob")
        let (_, bobLaptop) = h.connect("bob")
        h.send(#"{"event":"dm","payload":{"to":"bob","text":"psst"}}"#, from: alice)
        for client in [bobPhone, bobLaptop] {
            let frame = try #require(await client.nextFrame())
            #expect(frame["payload"] == .object([("text", .string("psst"))]))
            #expect(frame["from"] == .string("alice"))
        }
    }

    @Test func leavingAndDisconnectingUpdateTheState() async throws {
        let h = try EngineHarness(events: Self.chatEvents)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"room.join","target":"a"}"#, from: alice)
        h.send(#"{"event":"room.join","target":"b"}"#, from: alice)
        try await eventually { alice.rooms == ["a", "b"] }
        h.send(#"{"event":"room.leave","target":"a"}"#, from: alice)
        try await eventually { alice.rooms == ["b"] && h.engine.state.members(ofRoom: "a").isEmpty }
        h.send(#"{"event":"room.leave","target":"a","id":1}"#, from: alice)
        let frame = try #require(await client.nextFrame())
        #expect(frame.errorCode == "action_failed")
        #expect(frame["payload"]?["message"] == .string("_leave: not a member of room a"))
        h.engine.state.disconnect(alice)
        #expect(h.engine.state.members(ofRoom: "b").isEmpty)
        #expect(h.engine.state.user(id: "alice") == nil)
        #expect(h.engine.state.connectionCount == 0 && h.engine.state.roomCount == 0)
    }
}

@Suite("Actions through the C ABI")
struct ABITests {
    static let events = """
          echo:
            pipeline:
              - id: echoed
                action: fixture_echo
                params: { a: "{{payload.a}}", b: "x-{{payload.a}}", c: { k: "{{user.id}}" }, d: 12, e: "{{payload.none}}" }
              - action: _notify_origin
                params: { event: echoed, payload: "{{steps.echoed}}" }
          wait:
            pipeline:
              - id: w
                action: fixture_async
                params: { delay_ms: 30 }
              - action: _notify_origin
                params: { event: waited, payload: "{{steps.w.waited}}" }
          hang:
            pipeline:
              - action: fixture_never
                timeout: 200ms
              - action: _notify_origin
                params: { event: never-reached }
          twice:
            pipeline:
              - action: fixture_double
              - action: _notify_origin
                params: { event: after-double }
          fail:
            pipeline:
              - action: fixture_fail
              - action: _notify_origin
                params: { event: never-reached }
          forbid:
            pipeline:
              - action: fixture_forbid
          lazy:
            pipeline:
              - action: fixture_lazy
          ping:
            pipeline:
              - action: _notify_origin
                params: { event: pong, payload: "{{payload}}" }

        """

    @Test func resolvedParamsReachTheActionWithTheirTypes() async throws {
        let h = try EngineHarness(events: Self.events)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"echo","payload":{"a":[1,{"b":true}]}}"#, from: alice)
        let frame = try #require(await client.nextFrame())
        #expect(frame["payload"]?.jsonText == #"[[1,{"b":true}],"x-[1,{\"b\":true}]",{"k":"alice"},12,null]"#)
    }

    @Test func pendingActionsResumeThePipelineOnTheConnectionsExecutor() async throws {
        let h = try EngineHarness(events: Self.events)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"wait"}"#, from: alice)
        h.send(#"{"event":"ping","payload":"after"}"#, from: alice)
        let first = try #require(await client.nextFrame())
        #expect(first["event"] == .string("waited") && first["payload"] == .bool(true))
        // The second message waited behind the pending pipeline: order is kept.
        #expect(await client.nextFrame()?["event"] == .string("pong"))
    }

    @Test func aStepThatNeverCompletesTimesOut() async throws {
        let h = try EngineHarness(events: Self.events)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"hang","id":"h1"}"#, from: alice)
        let frame = try #require(await client.nextFrame())
        #expect(frame.errorCode == "action_failed")
        #expect(frame["payload"]?["message"] == .string("fixture_never: timed out after 0.2 seconds"))
        #expect(frame["payload"]?["ref"] == .string("h1"))
        h.send(#"{"event":"ping","payload":1}"#, from: alice)
        #expect(await client.nextFrame()?["event"] == .string("pong"), "the connection is not stuck")
    }

    @Test func aSecondCompleteIsRefusedAndResumesNothing() async throws {
        let h = try EngineHarness(events: Self.events)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"twice"}"#, from: alice)
        let report = try #require(await client.nextFrame())
        #expect(report["payload"] == .object([("first", .number("0")), ("second", .number("-5"))]))
        #expect(await client.nextFrame()?["event"] == .string("after-double"))
        h.send(#"{"event":"ping","payload":"sentinel"}"#, from: alice)
        #expect(await client.nextFrame()?["event"] == .string("pong"), "the next step ran exactly once")
    }

    @Test func failuresStopThePipelineWithTheirCode() async throws {
        let h = try EngineHarness(events: Self.events)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"fail"}"#, from: alice)
        let failed = try #require(await client.nextFrame())
        #expect(failed.errorCode == "action_failed")
        #expect(failed["payload"]?["message"] == .string("fixture_fail: probe failure"))
        h.send(#"{"event":"forbid"}"#, from: alice)
        let forbidden = try #require(await client.nextFrame())
        #expect(forbidden.errorCode == "forbidden")
        #expect(forbidden["payload"]?["message"] == .string("probe says no"))
        h.send(#"{"event":"lazy"}"#, from: alice)
        #expect(await client.nextFrame()?["payload"]?["message"] == .string("fixture_lazy: returned PENDING without calling defer()"))
        h.send(#"{"event":"ping","payload":"sentinel"}"#, from: alice)
        #expect(await client.nextFrame()?["event"] == .string("pong"), "no later step ran")
    }
}

/// Waits until `condition` holds, checking after each scheduling turn, for up to 30 s.
func eventually(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within 30 s")
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}
