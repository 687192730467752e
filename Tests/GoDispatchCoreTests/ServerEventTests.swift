import CGoDispatchABI
import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

@Suite("Server events (`server_events:`, Engine.emit)")
struct ServerEventTests {
    /// Plugins every test loads: the bundled ones, the probe, and a plugin built against "ABI 1.99"
    /// whose action calls `send_origin` without being flagged.
    static let plugins = bundledPlugins + ["FixtureProbe", "FixtureNewerMinor"]

    static let serverEvents = """
        server_events:
          order.shipped:
            payload_schema:
              type: object
              required: [order]
              properties: { order: { type: string } }
            pipeline:
              - id: user
                action: _notify_user
                params: { user: "{{target}}", event: order.update, payload: "{{payload}}" }
              - id: room
                action: _notify_room
                params: { room: orders, event: order.shipped, payload: { order: "{{payload.order}}" } }
              - action: _notify_user
                when: payload.urgent
                params: { user: "{{target}}", event: urgent }
              - id: wait
                action: fixture_async
                params: { delay_ms: 20 }
              - id: echo
                action: fixture_echo
                params: { delivered: "{{steps.user.delivered}}", waited: "{{steps.wait.waited}}", event: "{{event}}" }
          audit.fail:
            pipeline:
              - action: fixture_echo
                params: { n: 1 }
              - action: fixture_fail
              - action: _notify_user
                params: { user: bob, event: never }
          audit.forbid:
            pipeline:
              - action: fixture_forbid
          origin.lookup:
            pipeline:
              - action: fixture_newer_first

        """

    static func harness() throws -> EngineHarness {
        try EngineHarness(
            events: "  ping:\n    pipeline:\n      - action: _notify_origin\n        params: { event: pong }\n",
            plugins: plugins, extra: serverEvents)
    }

    /// Compiles `yaml` against the test plugins and returns the configuration errors (none if it loads).
    static func loadErrors(_ yaml: String) throws -> [ConfigError] {
        let config = try parseConfig(yaml)
        let folder = try makePluginDirectory(plugins)
        do throws(EngineStartError) {
            _ = try Engine(settings: config, pluginsDirectory: folder, logger: quietLogger)
            return []
        } catch {
            #expect(error.plugins.isEmpty, "\(error.plugins)")
            return error.config?.errors ?? []
        }
    }

    // MARK: - Configuration

    @Test func parsesServerEventsApartFromClientEvents() throws {
        let config = try parseConfig(configHead + "\nevents:\n  ping:\n    pipeline: []\n" + Self.serverEvents)
        #expect(config.serverEvents.map(\.name) == ["order.shipped", "audit.fail", "audit.forbid", "origin.lookup"])
        #expect(config.events.map(\.name) == ["ping"])
        #expect(config.serverEvents[0].pipeline.map(\.action.value)
            == ["_notify_user", "_notify_room", "_notify_user", "fixture_async", "fixture_echo"])
        #expect(config.serverEvents[0].payloadSchema != nil)
        #expect(config.serverEvents[0].location == SourceLocation(file: "test.yaml", line: 8, column: 3))
    }

    @Test func requiresAndUnknownKeysAreRefusedWithTheirLineAndColumn() {
        let errors = configErrors(
            """
            auth: { jwt: { secret: s } }
            events: { ping: { pipeline: [] } }
            server_events:
              order.shipped:
                requires: [admin]
                pipeline: []
              other:
                pipline: []
            """)
        #expect(errors.count == 3, "\(errors)")
        let requires = errors.first { $0.message.contains("`requires`") }
        #expect(requires?.location.line == 5 && requires?.location.column == 5)
        #expect(requires?.message.contains("no user sends a server event") == true)
        let unknown = errors.first { $0.message.contains("unknown key `pipline`") }
        #expect(unknown?.location.line == 8 && unknown?.location.column == 5)
        #expect(unknown?.message.contains("allowed keys: payload_schema, pipeline") == true)
        let missing = errors.first { $0.message.contains("has no `pipeline:`") }
        #expect(missing?.location.line == 7 && missing?.location.column == 3)
    }

    @Test func actionsAndTemplatesThatNeedAnOriginAreLoadErrors() throws {
        let errors = try Self.loadErrors(
            """
            auth: { jwt: { secret: s } }
            events: { ping: { pipeline: [] } }
            server_events:
              bad:
                pipeline:
                  - action: _notify_origin
                    params: { event: x }
                  - action: _notify_user
                    params: { user: "{{user.id}}", event: x, payload: { c: "{{connection.id}}" } }
                  - action: _join
                    params: { room: lobby }
                  - action: _log
                    when: "'admin' in user.perms"
                    params: { message: "ref {{message.id}}" }
                  - action: _notify_user
                    params: { user: "{{target}}", event: fine, payload: "{{payload}}" }
            """)
        let found = errors.map { ($0.location.line, $0.location.column) }
        #expect(found.count == 6, "\(errors)")
        #expect(found.contains { $0 == (6, 17) }, "_notify_origin at its action: \(errors)")
        #expect(errors.first { $0.location.line == 6 }?.message.contains("GD_ACTION_NEEDS_ORIGIN") == true)
        #expect(found.contains { $0 == (10, 17) }, "_join (rooms plugin) at its action: \(errors)")
        let userID = errors.first { $0.location.line == 9 && $0.location.column == 25 }
        #expect(userID?.message.contains("in param `user` of `_notify_user`: `{{user.id}}` names the connection") == true)
        let connectionID = errors.first { $0.location.line == 9 && $0.location.column == 59 }
        #expect(connectionID?.message.contains("`{{connection.id}}`") == true, "at the param holding the object: \(errors)")
        #expect(found.contains { $0 == (13, 15) }, "`when` naming user.perms: \(errors)")
        #expect(found.contains { $0 == (14, 28) }, "{{message.id}} inside text: \(errors)")
        #expect(!found.contains { $0.0 == 16 }, "a step without origin is fine: \(errors)")
    }

    @Test func pluginsFlagTheActionsThatNeedAnOrigin() throws {
        var host = PluginHost()
        let refusals = host.loadDirectory(try makePluginDirectory(bundledPlugins + ["FixtureContract"]))
        #expect(refusals.isEmpty, "\(refusals)")
        let flagged = host.registry.actions.values.filter(\.needsOrigin).map(\.name).sorted()
        #expect(flagged == ["_history", "_join", "_leave", "_notify_origin", "_presence"])
        // Built against ABI 1.0 (a gd_action without `flags`): read as 0.
        #expect(host.registry["contract_send_raw"]?.needsOrigin == false)
        #expect(Int(GD_ACTION_SIZE_1_0) < Int(GD_ACTION_SIZE_1_2) && Int(GD_ACTION_SIZE_1_2) <= MemoryLayout<gd_action>.size)
    }

    // MARK: - Running

    @Test func aRunNotifiesUsersAndRoomsWithoutFromAndReturnsEachStepsResult() async throws {
        let h = try Self.harness()
        let (_, bobClient1) = h.connect("bob")
        let (_, bobClient2) = h.connect("bob")
        let (carol, carolClient) = h.connect("carol")
        h.engine.state.join(carol, room: "orders")
        let outcome = await h.engine.emit(
            "order.shipped", target: "bob", payloadJSON: Array(#"{"order":"A-1","urgent":false}"#.utf8), on: QueueExecutor())

        let update = JSONValue.object([
            ("event", .string("order.update")),
            ("payload", .object([("order", .string("A-1")), ("urgent", .bool(false))])),
        ])
        #expect(await bobClient1.nextFrame() == update, "no `from`: only a verified user can be a sender")
        #expect(await bobClient2.nextFrame() == update)
        let shipped = try #require(await carolClient.nextFrame())
        #expect(shipped == .object([
            ("event", .string("order.shipped")), ("target", .string("orders")), ("payload", .object([("order", .string("A-1"))])),
        ]))
        #expect(shipped["from"] == nil)

        guard case .completed(let steps) = outcome else {
            Issue.record("expected completed, got \(outcome)")
            return
        }
        #expect(steps.map(\.index) == [0, 1, 2, 3, 4])
        #expect(steps.map(\.action) == ["_notify_user", "_notify_room", "_notify_user", "fixture_async", "fixture_echo"])
        #expect(steps.map(\.id) == ["user", "room", nil, "wait", "echo"])
        #expect(steps.map(\.skipped) == [false, false, true, false, false])
        let results = steps.map { $0.resultJSON.map { String(decoding: $0, as: UTF8.self) } }
        #expect(results == [#"{"delivered":2}"#, #"{"delivered":1}"#, nil, #"{"waited":true}"#, #"[2,true,"order.shipped"]"#])
    }

    @Test func aPayloadThatBreaksTheSchemaRunsNoStep() async throws {
        let h = try Self.harness()
        let (_, bobClient) = h.connect("bob")
        let wrongType = await h.engine.emit("order.shipped", target: "bob", payloadJSON: Array(#"{"order":5}"#.utf8), on: QueueExecutor())
        guard case .invalidPayload(let pointer, let message) = wrongType else {
            Issue.record("expected invalidPayload, got \(wrongType)")
            return
        }
        #expect(pointer == "/order" && !message.isEmpty)
        let missing = await h.engine.emit("order.shipped", target: "bob", payloadJSON: nil, on: QueueExecutor())
        #expect({ if case .invalidPayload("", _) = missing { true } else { false } }(), "\(missing)")
        let notJSON = await h.engine.emit("order.shipped", target: "bob", payloadJSON: Array("{order".utf8), on: QueueExecutor())
        #expect({ if case .invalidPayload("", let text) = notJSON { text.contains("not one JSON value") } else { false } }())
        // Nothing reached bob: the next frame he gets is this sentinel.
        _ = await h.engine.emit("order.shipped", target: "bob", payloadJSON: Array(#"{"order":"S"}"#.utf8), on: QueueExecutor())
        #expect(await bobClient.nextFrame()?["payload"] == .object([("order", .string("S"))]))
    }

    @Test func anUnknownServerEventListsTheKnownOnes() async throws {
        let h = try Self.harness()
        let outcome = await h.engine.emit("order.lost", on: QueueExecutor())
        #expect(outcome == .unknownEvent(name: "order.lost", known: ["audit.fail", "audit.forbid", "order.shipped", "origin.lookup"]))
        #expect(outcome.description.contains("audit.fail, audit.forbid, order.shipped, origin.lookup"))
        // A client event is not a server event.
        #expect(await h.engine.emit("ping", on: QueueExecutor()) == .unknownEvent(
            name: "ping", known: ["audit.fail", "audit.forbid", "order.shipped", "origin.lookup"]))
    }

    @Test func aFailingStepStopsTheRunAndSendsNoErrorFrame() async throws {
        let h = try Self.harness()
        let (bob, bobClient) = h.connect("bob")
        let failed = await h.engine.emit("audit.fail", on: QueueExecutor())
        let expected = EmitFailure(
            index: 1, action: "fixture_fail", id: nil, code: .actionFailed, message: "fixture_fail: probe failure",
            completedSteps: [EmitStepResult(index: 0, action: "fixture_echo", id: nil, skipped: false, resultJSON: Array("[1]".utf8))])
        #expect(failed == .failed(expected))
        let forbidden = await h.engine.emit("audit.forbid", on: QueueExecutor())
        guard case .failed(let refusal) = forbidden else {
            Issue.record("expected failed, got \(forbidden)")
            return
        }
        #expect(refusal.code == .forbidden && refusal.message == "probe says no" && refusal.index == 0)
        // Neither run sent bob anything (the third step of audit.fail never ran, and no error frame
        // went anywhere): his next frame is the answer to his own ping.
        h.send(#"{"event":"ping"}"#, from: bob)
        #expect(await bobClient.nextFrame() == .object([("event", .string("pong")), ("from", .string("bob"))]))
    }

    @Test func hostFunctionsThatNeedAnOriginAnswerNotFound() async throws {
        let h = try Self.harness()
        // fixture_newer_first is not flagged, calls send_origin and fails on a negative answer.
        let outcome = await h.engine.emit("origin.lookup", on: QueueExecutor())
        guard case .failed(let failure) = outcome else {
            Issue.record("expected failed, got \(outcome)")
            return
        }
        #expect(failure.action == "fixture_newer_first" && failure.code == .actionFailed)
        let context = ActionContext(origin: nil, services: h.engine.router.services)
        let message = OutgoingMessage(event: UnsafeRawBufferPointer(StaticString("e")), target: UnsafeRawBufferPointer(start: nil, count: 0), payload: .none)
        #expect(throws: ActionRefusal.self) { _ = try context.sendToOrigin(message) }
        #expect(throws: ActionRefusal.self) { try context.join("lobby") }
        #expect(throws: ActionRefusal.notFound) { _ = try context.isMember(connection: nil, room: "lobby") }
        #expect(throws: ActionRefusal.self) { _ = try context.hasPermission(user: nil, "admin") }
        do {
            _ = try context.sendToOrigin(message)
        } catch {
            #expect(error.status == GD_ERR_NOT_FOUND.rawValue)
            #expect({ if case .noOrigin(let why) = error { why.contains("`send_origin`") } else { false } }())
        }
    }

    // MARK: - Reload

    @Test func aReloadAddsAndReportsServerEvents() async throws {
        let folder = try makePluginDirectory(Self.plugins)
        let head = configHead + "\nevents:\n  ping:\n    pipeline: []\n"
        let engine = try Engine(settings: try parseConfig(head), pluginsDirectory: folder, logger: quietLogger)
        #expect(await engine.emit("added", on: QueueExecutor()) == .unknownEvent(name: "added", known: []))
        let report = try engine.reload(
            try parseConfig(head + "server_events:\n  added:\n    pipeline:\n      - id: e\n        action: fixture_echo\n        params: { t: \"{{target}}\" }\n"))
        #expect(report.serverEventsAdded == ["added"])
        #expect(report.serverEventsRemoved.isEmpty && report.serverEventsChanged.isEmpty)
        #expect(report.added.isEmpty && report.removed.isEmpty && report.changed.isEmpty, "client events untouched")
        let outcome = await engine.emit("added", target: "t1", on: QueueExecutor())
        #expect(outcome == .completed(steps: [
            EmitStepResult(index: 0, action: "fixture_echo", id: "e", skipped: false, resultJSON: Array(#"["t1"]"#.utf8)),
        ]))
        let second = try engine.reload(try parseConfig(head))
        #expect(second.serverEventsRemoved == ["added"])
    }
}
