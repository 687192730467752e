import CGoDispatchABI
import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Locked(ContinuousClock.now)
    /// The time now.
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    /// Moves the clock forward.
    func advance(by duration: Duration) { current.withLock { $0 += duration } }
}

/// Records how pipelines end.
final class OutcomeRecorder: PipelineObserver {
    let outcomes = Mailbox<PipelineOutcome>()
    func stepSkipped(index: Int, action: String, condition: String) {}
    func stepStarting(index: Int, action: String, params: [(name: String, value: String?)]) {}
    func stepFinished(index: Int, action: String, status: Int32, detail: String?) {}
    func pipelineFinished(_ outcome: PipelineOutcome) { outcomes.put(outcome) }
}

@Suite("A connection's life in the engine: closed everywhere, bounded inbox, live limits")
struct ConnectionLifecycleTests {
    static let events = """
          slow.join:
            pipeline:
              - action: _notify_origin
                params: { event: started }
              - action: contract_hold
              - action: _join
                params: { room: "{{target}}" }
              - action: _notify_origin
                params: { event: joined }
          release:
            pipeline:
              - action: contract_release
          ping:
            pipeline:
              - action: _notify_origin
                params: { event: pong, payload: "{{payload}}" }
          wait:
            pipeline:
              - action: fixture_async
                params: { delay_ms: "{{payload.ms}}" }

        """

    static let plugins = bundledPlugins + ["FixtureProbe", "FixtureContract"]

    @Test func aPipelineThatResumesAfterItsClientLeftJoinsNothing() async throws {
        let recorder = OutcomeRecorder()
        let h = EngineHarness(
            engine: try Engine(
                settings: try parseConfig(configHead + "\nevents:\n" + Self.events),
                pluginsDirectory: try makePluginDirectory(Self.plugins),
                observer: recorder,
                logger: quietLogger))
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"slow.join","target":"lobby"}"#, from: alice)
        #expect(try #require(await client.nextFrame())["event"] == .string("started"))
        await h.onExecutor(of: alice)  // the executor block that sent "started" also ran contract_hold
        // Messages queued behind the pending step, then the client goes.
        h.send(#"{"event":"ping","payload":1}"#, from: alice)
        h.send(#"{"event":"ping","payload":2}"#, from: alice)
        await h.close(alice)
        #expect(alice.isClosed)
        // The deferred step completes now; what follows it must not run for a closed connection.
        let (bob, _) = h.connect("bob")
        h.send(#"{"event":"release"}"#, from: bob)
        // Bob's `release` completes and Alice's `slow.join` is abandoned, on two executors: either order.
        let outcomes = [await recorder.outcomes.take(), await recorder.outcomes.take()]
        #expect(outcomes.contains(.completed) && outcomes.contains(.abandoned), "\(outcomes)")
        #expect(h.engine.state.members(ofRoom: "lobby").isEmpty, "a closed connection joined a room")
        #expect(alice.rooms.isEmpty)
        #expect(client.frames.pending.isEmpty, "nothing more is sent to a closed connection: \(client.frames.pending)")
        // Messages that still arrive (bytes in flight) are dropped too.
        h.send(#"{"event":"ping","payload":3}"#, from: alice)
        await h.onExecutor(of: alice)
        #expect(client.frames.pending.isEmpty)
    }

    @Test func aClosedConnectionNeverJoinsAgain() {
        let state = InMemoryStateManager()
        let connection = state.connect(userID: "u", permissions: [], transport: TestTransport())
        #expect(state.join(connection, room: "a"))
        state.disconnect(connection)
        #expect(!state.join(connection, room: "b"))
        #expect(state.members(ofRoom: "b").isEmpty && state.members(ofRoom: "a").isEmpty)
        #expect(state.roomCount == 0)
    }

    @Test func theInboxIsBoundedInBytes() async throws {
        let h = try EngineHarness(events: Self.events, plugins: Self.plugins, extra: "connections: { max_inbox_bytes: 2048 }")
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"wait","payload":{"ms":400}}"#, from: alice)
        let filler = String(repeating: "x", count: 900)
        for index in 0..<3 { h.send(#"{"event":"ping","payload":"\#(index)\#(filler)"}"#, from: alice) }
        // Two 900-byte messages fit in 2048 bytes; the third gets `busy` at once, before any pong.
        let first = try #require(await client.nextFrame())
        #expect(first.errorCode == "busy", "\(first.jsonText)")
        for index in 0..<2 {
            let pong = try #require(await client.nextFrame())
            #expect(pong["payload"] == .string("\(index)\(filler)"))
        }
    }

    @Test func aReloadThatChangesTheRateLimitAppliesToOpenConnections() async throws {
        let clock = ManualClock()
        let yaml = configHead + "\nconnections: { rate_limit: { messages: 100, per: 1s } }\nevents:\n" + Self.events
        let engine = try Engine(
            settings: try parseConfig(yaml), pluginsDirectory: try makePluginDirectory(Self.plugins),
            clock: { clock.now }, logger: quietLogger)
        let h = EngineHarness(engine: engine)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"ping","payload":0}"#, from: alice)
        #expect(try #require(await client.nextFrame())["event"] == .string("pong"))
        let stricter = yaml.replacingOccurrences(of: "messages: 100", with: "messages: 1, burst: 1")
        _ = try engine.reload(try parseConfig(stricter))
        // The clock stands still: one message fits the new limit, the next is refused.
        h.send(#"{"event":"ping","payload":1}"#, from: alice)
        h.send(#"{"event":"ping","payload":2}"#, from: alice)
        #expect(try #require(await client.nextFrame())["payload"] == .number("1"))
        #expect(try #require(await client.nextFrame()).errorCode == "rate_limited")
        clock.advance(by: .seconds(1))
        h.send(#"{"event":"ping","payload":3}"#, from: alice)
        #expect(try #require(await client.nextFrame())["payload"] == .number("3"), "a second later a token is back")
    }
}

@Suite("Pipeline run state machine")
struct PipelineRunMachineTests {
    typealias Machine = PipelineRunMachine

    @Test func stepsRunInOrderAndTheRunCompletes() {
        var machine = Machine(stepCount: 2)
        #expect(machine.next(connectionOpen: true) == .invoke(step: 0))
        #expect(machine.invoked(status: GD_OK.rawValue, ticket: 0, message: "") == .proceed)
        #expect(machine.next(connectionOpen: true) == .invoke(step: 1))
        machine.skipped()
        #expect(machine.next(connectionOpen: true) == .complete)
        #expect(machine.state == .finished)
        #expect(machine.next(connectionOpen: true) == .ignore, "nothing after the end")
    }

    @Test func aPendingStepWaitsForItsTicketOnly() {
        var machine = Machine(stepCount: 2)
        _ = machine.next(connectionOpen: true)
        #expect(machine.invoked(status: GD_PENDING.rawValue, ticket: 7, message: "") == .park(step: 0, ticket: 7))
        #expect(machine.completed(ticket: 8, status: GD_OK.rawValue, message: "") == .ignore, "another ticket")
        #expect(machine.timedOut(ticket: 8, after: .seconds(1)) == .ignore)
        #expect(machine.completed(ticket: 7, status: GD_OK.rawValue, message: "") == .proceed)
        #expect(machine.completed(ticket: 7, status: GD_OK.rawValue, message: "") == .ignore, "a second complete")
        #expect(machine.next(connectionOpen: true) == .invoke(step: 1))
    }

    @Test func aTimeoutFailsTheRunAndALateCompleteIsIgnored() {
        var machine = Machine(stepCount: 1)
        _ = machine.next(connectionOpen: true)
        _ = machine.invoked(status: GD_PENDING.rawValue, ticket: 3, message: "")
        #expect(
            machine.timedOut(ticket: 3, after: .milliseconds(50))
                == .fail(step: 0, status: GD_ERR_FAILED.rawValue, message: "timed out after 0.05 seconds"))
        #expect(machine.completed(ticket: 3, status: GD_OK.rawValue, message: "") == .ignore)
    }

    @Test func errorsAndPendingWithoutDeferFail() {
        var machine = Machine(stepCount: 1)
        _ = machine.next(connectionOpen: true)
        #expect(
            machine.invoked(status: GD_PENDING.rawValue, ticket: 0, message: "")
                == .fail(step: 0, status: GD_ERR_FAILED.rawValue, message: "returned PENDING without calling defer()"))
        var refused = Machine(stepCount: 1)
        _ = refused.next(connectionOpen: true)
        #expect(
            refused.invoked(status: GD_ERR_FORBIDDEN.rawValue, ticket: 0, message: "no")
                == .fail(step: 0, status: GD_ERR_FORBIDDEN.rawValue, message: "no"))
    }

    @Test func aClosedConnectionAbandonsTheRunExceptADisconnectHook() {
        var machine = Machine(stepCount: 2)
        _ = machine.next(connectionOpen: true)
        _ = machine.invoked(status: GD_OK.rawValue, ticket: 0, message: "")
        #expect(machine.next(connectionOpen: false) == .abandon)
        var hook = Machine(stepCount: 1, outlivesConnection: true)
        #expect(hook.next(connectionOpen: false) == .invoke(step: 0))
    }
}
