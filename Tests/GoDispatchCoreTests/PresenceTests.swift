import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// Presence as pure values and through the state core, without sockets.
@Suite("Presence")
struct PresenceTests {
    private func rule(_ mode: PresenceMode, joinLeave: Bool = false, maxMembers: Int? = nil, interval: Duration = .milliseconds(50))
        -> RoomRule
    {
        var rule = RoomRule(pattern: "*", location: SourceLocation(file: "test.yaml", line: 1, column: 1))
        rule.presence = mode
        rule.joinLeave = joinLeave
        rule.maxMembers = maxMembers
        rule.presenceInterval = interval
        return rule
    }

    private func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    @Test func aUserIsOneMemberWhateverItsConnections() {
        var room = RoomPresence(mode: .full)
        #expect(room.add(user: "a", connection: "a1", info: Array("1".utf8)) == .joined(user: "a", info: Array("1".utf8)))
        #expect(room.add(user: "a", connection: "a2", info: Array("2".utf8)) == nil, "a second tab is no join")
        #expect(room.add(user: "a", connection: "a2", info: nil) == nil, "the same connection twice changes nothing")
        #expect(room.add(user: "b", connection: "b1", info: nil) == .joined(user: "b", info: nil))
        #expect(room.users.count == 2 && room.connectionCount == 3)
        #expect(text(room.stateJSON) == #"{"count":2,"users":{"a":{"connections":2,"info":1},"b":{"connections":1,"info":null}}}"#)
        #expect(room.remove(user: "a", connection: "a1") == nil, "one tab left: no leave")
        #expect(text(room.stateJSON) == #"{"count":2,"users":{"a":{"connections":1,"info":2},"b":{"connections":1,"info":null}}}"#)
        #expect(room.remove(user: "a", connection: "a2") == .left(user: "a", info: Array("2".utf8)))
        #expect(room.remove(user: "a", connection: "a2") == nil)
        #expect(room.users.count == 1 && room.connectionCount == 1)
    }

    @Test func statsCountUsersAndConnections() {
        var room = RoomPresence(mode: .stats)
        _ = room.add(user: "a", connection: "a1", info: nil)
        _ = room.add(user: "a", connection: "a2", info: nil)
        _ = room.add(user: "b", connection: "b1", info: nil)
        #expect(text(room.stateJSON) == #"{"count":2,"connections":3}"#)
        #expect(text(RoomPresence.emptyStateJSON(mode: .full)) == #"{"count":0,"users":{}}"#)
    }

    @Test func aDiffNetsJoinsAndLeavesOfOneInterval() {
        var diff = PresenceDiff()
        diff.record(.joined(user: "a", info: nil))
        diff.record(.left(user: "a", info: nil))
        #expect(diff.isEmpty, "joined and left within one interval: in neither")
        diff.record(.left(user: "b", info: Array(#""B""#.utf8)))
        diff.record(.joined(user: "b", info: nil))
        #expect(diff.isEmpty, "left and came back: no change to tell")
        diff.record(.joined(user: "c", info: Array(#"{"n":1}"#.utf8)))
        diff.record(.left(user: "d", info: nil))
        #expect(text(diff.payloadJSON) == #"{"joins":{"c":{"info":{"n":1}}},"leaves":{"d":{"info":null}}}"#)
    }

    @Test func maxMembersCountsConnectionsAndRefusesBeyondIt() {
        let state = InMemoryStateManager()
        let options = RoomJoinOptions(rule: rule(.off, maxMembers: 2))
        let a1 = state.connect(userID: "a", permissions: [], transport: TestTransport())
        let a2 = state.connect(userID: "a", permissions: [], transport: TestTransport())
        let b = state.connect(userID: "b", permissions: [], transport: TestTransport())
        #expect(state.join(a1, room: "r", options: options) == .joined)
        #expect(state.join(a1, room: "r", options: options) == .alreadyMember)
        #expect(state.join(a2, room: "r", options: options) == .joined)
        #expect(state.join(b, room: "r", options: options) == .full)
        #expect(!b.rooms.contains("r") && state.members(ofRoom: "r").count == 2)
        state.disconnect(a1)
        #expect(state.join(b, room: "r", options: options) == .joined, "a place freed by a disconnect is taken")
        state.disconnect(b)
        #expect(state.join(b, room: "x", options: options) == .closed)
    }

    @Test func theStateCoreKeepsPresenceAndAnnouncesFirstJoinsAndLastLeaves() {
        let state = InMemoryStateManager()
        let changes = Mailbox<String>()
        state.setPresenceListener(Recorder(changes: changes))
        let full = RoomJoinOptions(rule: rule(.full, joinLeave: true), info: Array(#""A""#.utf8))
        let a1 = state.connect(userID: "a", permissions: [], transport: TestTransport())
        let a2 = state.connect(userID: "a", permissions: [], transport: TestTransport())
        #expect(state.join(a1, room: "r", options: full) == .joined)
        #expect(state.join(a2, room: "r", options: full) == .joined)
        #expect(state.leave(a1, room: "r"))
        state.disconnect(a2)
        #expect(changes.pending == ["r +a", "r -a"], "one join for two tabs, one leave when the last one goes")
        #expect(state.presence(ofRoom: "r") == nil, "an empty room keeps no presence")
        let off = state.connect(userID: "c", permissions: [], transport: TestTransport())
        #expect(state.join(off, room: "quiet", options: .none) == .joined)
        #expect(state.presence(ofRoom: "quiet") == nil && changes.pending.count == 2, "rooms without a rule keep none")
    }

    @Test func theBroadcasterSendsOneCoalescedFramePerInterval() async {
        let state = InMemoryStateManager()
        let broadcaster = PresenceBroadcaster(fanOut: DirectFanOut())
        state.setPresenceListener(broadcaster)
        let options = RoomJoinOptions(rule: rule(.full, joinLeave: true, interval: .milliseconds(500)))
        let watcher = TestTransport()
        let w = state.connect(userID: "w", permissions: [], transport: watcher)
        #expect(state.join(w, room: "r", options: options) == .joined)
        var others: [Connection] = []
        for index in 0..<200 {
            let c = state.connect(userID: "u\(index)", permissions: [], transport: TestTransport())
            #expect(state.join(c, room: "r", options: options) == .joined)
            others.append(c)
        }
        _ = state.leave(others[0], room: "r")
        var seen: Set<String> = []
        var frames = 0
        while seen.count < 200 {  // w and u1...u199
            guard let frame = await watcher.nextFrame() else { break }
            frames += 1
            #expect(frame["event"] == .string("_presence") && frame["target"] == .string("r"))
            if case .object(let joins)? = frame["payload"]?["joins"] { seen.formUnion(joins.map(\.0)) }
        }
        #expect(seen.count == 200 && !seen.contains("u0"), "u0 joined and left within the interval")
        #expect(frames <= 3, "a burst of 201 joins costs a member a few frames, not hundreds (got \(frames))")
    }

    @Test func aBadPresenceInfoTemplateIsALoadErrorWithItsPlace() throws {
        let yaml = configHead + """

            rooms:
              "chat:*":
                presence: full
                presence_info: { name: "{{user.nickname}}" }
              "game:*":
                presence: full
                presence_info: { step: "{{steps.a}}" }
            events:
              ping:
                pipeline:
                  - action: _notify_origin
                    params: { event: pong }
            """
        do {
            _ = try makeEngine(yaml)
            Issue.record("the configuration loaded")
        } catch let error as EngineStartError {
            let errors = error.config?.errors ?? []
            #expect(errors.count == 2, "\(errors)")
            #expect(errors.map(\.location.line).sorted() == [7, 10], "\(errors)")
            #expect(errors.contains { $0.description.contains("unknown template `{{user.nickname}}`") }, "\(errors)")
            #expect(errors.contains { $0.description.contains("`{{steps.a}}` is not known when a connection joins") }, "\(errors)")
        }
    }

    @Test func claimsAreReadByPath() {
        let state = InMemoryStateManager()
        let c = state.connect(
            userID: "a", permissions: [], claims: Array(#"{"sub":"a","name":"Ann","org":{"id":7}}"#.utf8), transport: TestTransport())
        let message = try! EnvelopeParser.parse(Array(#"{"event":"x"}"#.utf8))
        let cargo = Cargo(message: message, origin: c)
        let template = try! Template.compile(.object([("n", .string("{{user.claims.name}}")), ("o", .string("{{user.claims.org.id}}")),
            ("m", .string("{{user.claims.missing}}"))]))
        #expect(cargo.text(template) == #"{"n":"Ann","o":7,"m":null}"#)
        c.replaceClaims(Array(#"{"sub":"a","name":"Annie"}"#.utf8))
        #expect(cargo.text(template) == #"{"n":"Annie","o":null,"m":null}"#, "a refreshed token's claims are read from then on")
    }

    @Test func aReloadGivesNewRoomsTheNewRules() async throws {
        let events = "  room.join:\n    pipeline:\n      - action: _join\n        params: { room: \"{{target}}\" }\n"
            + "      - action: _notify_origin\n        params: { event: joined }\n"
        let h = try EngineHarness(events: events)
        var settings = h.engine.config.settings
        var capped = RoomRule(pattern: "capped", location: SourceLocation(file: "t.yaml", line: 1, column: 1))
        capped.maxMembers = 1
        settings.rooms = RoomRules([capped])
        let (a, aClient) = h.connect("a")
        let (b, bClient) = h.connect("b")
        h.send(#"{"event":"room.join","target":"capped"}"#, from: a)
        #expect(await aClient.nextFrame()?["event"] == .string("joined"))
        _ = try h.engine.reload(settings)
        h.send(#"{"event":"room.join","target":"capped"}"#, from: b)
        #expect(await bClient.nextFrame()?["event"] == .string("joined"), "the room keeps the rule it was created with")
        h.send(#"{"event":"room.join","target":"capped"}"#, from: a)  // already a member: no change
        #expect(await aClient.nextFrame()?["event"] == .string("joined"))
        await h.onExecutor(of: a) { _ = h.engine.state.leave(a, room: "capped") }
        await h.onExecutor(of: b) { _ = h.engine.state.leave(b, room: "capped") }
        h.send(#"{"event":"room.join","target":"capped"}"#, from: a)
        #expect(await aClient.nextFrame()?["event"] == .string("joined"))
        h.send(#"{"event":"room.join","target":"capped"}"#, from: b)
        #expect(await bClient.nextFrame()?.errorCode == "room_full", "a room created after the reload follows the new rule")
    }

    private struct Recorder: PresenceListener {
        let changes: Mailbox<String>
        func presenceChanged(
            _ change: PresenceChange, room: String, rule: RoomRule, executor: any ConnectionExecutor, state: any StateManager
        ) {
            switch change {
            case .joined(let user, _): changes.put("\(room) +\(user)")
            case .left(let user, _): changes.put("\(room) -\(user)")
            }
        }
    }
}
