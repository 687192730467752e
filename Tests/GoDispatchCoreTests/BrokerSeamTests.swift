import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// A broker whose remote side the test plays: publishes deliver here at once (as if they came back from
/// Redis) but their other nodes' share ends only when the test says so; commands are recorded and answered
/// by the test.
final class ScriptedBroker: Broker, @unchecked Sendable {
    struct Pending {
        var waits: [BrokerWait] = []
        var commands: [(ControlCommand, @Sendable (Result<ControlTally, BrokerError>) -> Void)] = []
    }

    let pending = Locked(Pending())
    let opened = Locked<[String]>([])

    var isClustered: Bool { true }
    var clusterNodes: [JSONValue]? { [.object([("name", .string("scripted"))])] }
    var history: (any BrokerHistory)? { nil }
    var idempotency: (any BrokerIdempotency)? { nil }
    var sharedPresence: (any BrokerPresence)? { nil }

    func publish(_ frame: OutboundFrame, toRoom room: String, excluding: Connection?, here: LocalNode, wait: BrokerWait?) -> RoomDelivery {
        let delivery = here.publish(frame, toRoom: room, excluding: excluding?.id)
        if let wait {
            wait.begin()
            pending.withLock { $0.waits.append(wait) }
        }
        return RoomDelivery(recipients: delivery.recipients, position: nil)
    }

    func send(_ command: ControlCommand, completion: @escaping @Sendable (Result<ControlTally, BrokerError>) -> Void) {
        pending.withLock { $0.commands.append((command, completion)) }
    }

    func awaitRoom(_ room: String, wait: BrokerWait) {}
    func roomOpened(_ room: String) { opened.withLock { $0.append(room) } }
    func roomClosed(_ room: String) { opened.withLock { $0.removeAll { $0 == room } } }

    /// Ends every publish waiting for the other nodes, with `failure` (nil: they all got it).
    func finishPublishes(_ failure: BrokerError? = nil) {
        let waits = pending.withLock { pending in
            defer { pending.waits = [] }
            return pending.waits
        }
        for wait in waits { wait.end(failure) }
    }

    /// Waits for the next command sent to the other nodes.
    func nextCommand() async throws -> (ControlCommand, @Sendable (Result<ControlTally, BrokerError>) -> Void) {
        try await eventually { pending.withLock { !$0.commands.isEmpty } }
        return pending.withLock { $0.commands.removeFirst() }
    }
}

@Suite("The broker seam: steps wait for the other nodes, and their failures are the step's")
struct BrokerSeamTests {
    static let events = """
          room.join:
            pipeline:
              - action: _join
                params: { room: "{{target}}" }
          chat.send:
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: chat.message, payload: { text: "{{payload.text}}" } }
              - action: _notify_origin
                params: { event: chat.ack }
          mod.mute:
            pipeline:
              - action: _set_permissions
                params: { user: "{{target}}", remove: [chat:write] }
              - action: _notify_origin
                params: { event: mod.done }

        """

    func harness(_ broker: ScriptedBroker) throws -> EngineHarness {
        let config = try parseConfig(configHead + "\nevents:\n" + Self.events)
        let engine = try Engine(
            settings: config, pluginsDirectory: try makePluginDirectory(bundledPlugins), broker: broker, logger: quietLogger)
        return EngineHarness(engine: engine)
    }

    @Test func aRoomPublishStepCompletesOnlyOnceTheOtherNodesHaveIt() async throws {
        let broker = ScriptedBroker()
        let h = try harness(broker)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"room.join","target":"lobby"}"#, from: alice)
        try await eventually { broker.opened.withLock { $0 == ["lobby"] } }
        h.send(#"{"event":"chat.send","target":"lobby","payload":{"text":"hi"}}"#, from: alice)
        #expect(await client.nextFrame()?["event"] == .string("chat.message"))
        // The next step waits for the broker: no ack yet.
        #expect(await client.nextFrame(timeout: .milliseconds(300)) == nil)
        broker.finishPublishes()
        #expect(await client.nextFrame()?["event"] == .string("chat.ack"))
    }

    @Test func aBrokerFailureFailsTheStepWithItsMessageAndStopsThePipeline() async throws {
        let broker = ScriptedBroker()
        let h = try harness(broker)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"room.join","target":"lobby"}"#, from: alice)
        try await eventually { h.engine.state.members(ofRoom: "lobby").count == 1 }
        h.send(#"{"event":"chat.send","target":"lobby","id":"m1","payload":{"text":"hi"}}"#, from: alice)
        #expect(await client.nextFrame()?["event"] == .string("chat.message"), "delivered here all the same")
        try await eventually { broker.pending.withLock { $0.waits.count == 1 } }
        broker.finishPublishes(.unavailable("Redis is unreachable: other nodes were not reached"))
        let error = try #require(await client.nextFrame())
        #expect(error.errorCode == "action_failed")
        #expect(error["payload"]?["message"] == .string("_notify_room: Redis is unreachable: other nodes were not reached"))
        #expect(error["payload"]?["ref"] == .string("m1"))
        // The ack step never ran: the connection's next frame is the next message's.
        h.send(#"{"event":"chat.send","target":"lobby","payload":{"text":"again"}}"#, from: alice)
        #expect(await client.nextFrame()?["payload"]?["text"] == .string("again"))
    }

    @Test func setPermissionsOfAUserOnAnotherNodeCompletesWhenThatNodeAppliedIt() async throws {
        let broker = ScriptedBroker()
        let h = try harness(broker)
        let (moderator, client) = h.connect("mod")
        h.send(#"{"event":"mod.mute","target":"bob"}"#, from: moderator)
        let (command, answer) = try await broker.nextCommand()
        #expect(command == .setPermissions(user: "bob", .remove(["chat:write"])))
        #expect(await client.nextFrame(timeout: .milliseconds(300)) == nil, "the step waits for the other node")
        answer(.success(ControlTally(found: true, count: 1)))
        #expect(await client.nextFrame()?["event"] == .string("mod.done"))
    }

    @Test func setPermissionsOfAUserConnectedNowhereFailsNotFound() async throws {
        let broker = ScriptedBroker()
        let h = try harness(broker)
        let (moderator, client) = h.connect("mod")
        h.send(#"{"event":"mod.mute","target":"nobody"}"#, from: moderator)
        let (_, answer) = try await broker.nextCommand()
        answer(.success(.none))
        let error = try #require(await client.nextFrame())
        #expect(error.errorCode == "action_failed", "\(error.jsonText)")
    }

    @Test func theBackendCountsEveryNodeAndReportsAnUnreachableCluster() async throws {
        let broker = ScriptedBroker()
        let h = try harness(broker)
        _ = h.connect("dora")
        let closed = Locked<Result<Int, BackendRefusal>?>(nil)
        h.engine.backend.disconnect(user: "dora", code: 4000, reason: "bye") { result in closed.withLock { $0 = result } }
        let (command, answer) = try await broker.nextCommand()
        #expect(command == .disconnectUser(user: "dora", code: 4000, reason: "bye"))
        answer(.success(ControlTally(found: true, count: 2)))
        try await eventually { closed.withLock { $0 } != nil }
        #expect(closed.withLock { $0 } == .success(3), "1 here + 2 on the other node")

        let failed = Locked<Result<Int, BackendRefusal>?>(nil)
        h.engine.backend.notify(user: "dora", BackendCommands.frame(event: "x", target: nil, payloadJSON: nil)) { result in
            failed.withLock { $0 = result }
        }
        let (_, refuse) = try await broker.nextCommand()
        refuse(.failure(.unavailable("Redis is unreachable")))
        try await eventually { failed.withLock { $0 } != nil }
        guard case .failure(.brokerUnavailable(let text))? = failed.withLock({ $0 }) else {
            Issue.record("expected brokerUnavailable, got \(String(describing: failed.withLock { $0 }))")
            return
        }
        #expect(text.contains("Redis is unreachable"))
    }

    @Test func controlCommandsSurviveTheTripBetweenNodes() {
        let commands: [ControlCommand] = [
            .notifyUser(user: "u{1}", frame: Array(#"{"event":"a","payload":"x\ny"}"#.utf8)),
            .sendConnection(connection: "0123456789abcdef", frame: Array("{}".utf8)),
            .disconnectUser(user: "u", code: 4008, reason: "banned \"now\""),
            .disconnectConnection(connection: "c", code: 1000, reason: "", user: nil),
            .disconnectConnection(connection: "c", code: 4001, reason: "cycled", user: "u"),
            .setPermissions(user: "u", .set(["a", "b"])), .setPermissions(user: "u", .add([])), .setPermissions(user: "u", .remove(["x"])),
            .join(user: "u", room: "r", connection: nil), .join(user: "u", room: "r", connection: "c"),
            .leave(user: "u", room: "r:é", connection: nil),
        ]
        for command in commands { #expect(ControlCommand(json: command.json) == command, "\(String(decoding: command.json, as: UTF8.self))") }
        #expect(ControlCommand(json: Array(#"{"op":"explode"}"#.utf8)) == nil)
        #expect(ControlCommand(json: Array("not json".utf8)) == nil)
    }

    @Test func aWaitSettlesOnceWithTheFirstFailure() {
        let wait = BrokerWait()
        let settled = Locked<[BrokerError?]>([])
        wait.begin()
        wait.begin()
        wait.whenSettled { failure in settled.withLock { $0.append(failure) } }
        wait.end(.timedOut("first"))
        #expect(settled.withLock { $0 }.isEmpty)
        wait.end(.unavailable("second"))
        #expect(settled.withLock { $0 } == [.timedOut("first")])
        let idle = BrokerWait()
        idle.whenSettled { failure in settled.withLock { $0.append(failure) } }
        #expect(settled.withLock { $0 }.count == 2, "nothing outstanding: at once")
    }
}
