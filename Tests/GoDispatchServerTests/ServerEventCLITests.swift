import GoDispatchTestSupport
import Testing

@Suite("godispatch validate and simulate with server events")
struct ServerEventCLITests {
    static let config = """
        auth: { jwt: { secret: "a-long-enough-secret-for-hs256-0123" } }
        events:
          ping:
            pipeline: []
        server_events:
          order.shipped:
            payload_schema: { type: object, required: [order] }
            pipeline:
              - id: user
                action: _notify_user
                params: { user: "{{target}}", event: order.update, payload: "{{payload}}" }
              - action: _notify_room
                params: { room: orders, event: order.shipped, payload: { order: "{{payload.order}}" } }

        """

    @Test func simulateDryRunsAServerEventWithNoSender() throws {
        let path = try writeConfig(Self.config)
        let plugins = try makePluginDirectory(bundledPlugins)
        let result = try godispatch([
            "simulate", "--config", path, "--plugins", plugins, "--server-event", "order.shipped", "--target", "u42",
            "--payload", #"{"order":"A-1"}"#,
        ])
        #expect(result.status == 0, "\(result.err)")
        let expected = [
            "simulating server event `order.shipped` → u42",
            "step 1 _notify_user",
            #"  params: user="u42" event="order.update" payload={"order":"A-1"}"#,
            #"  sends to 0 connection(s) []: {"event":"order.update","payload":{"order":"A-1"}}"#,
            #"  outcome: ok, result {"delivered":0}"#,
            "step 2 _notify_room",
            #"  params: room="orders" event="order.shipped" payload={"order":"A-1"}"#,
            #"  sends to 0 connection(s) []: {"event":"order.shipped","target":"orders","payload":{"order":"A-1"}}"#,
            "  outcome: ok",
            "pipeline completed",
        ]
        #expect(result.out.split(separator: "\n").map(String.init) == expected)

        let unknown = try godispatch(["simulate", "--config", path, "--plugins", plugins, "--server-event", "order.lost"])
        #expect(unknown.status == 1)
        #expect(
            unknown.out.contains(
                "refused before any step: unknown server event `order.lost`; configured server events: order.shipped"))

        let invalid = try godispatch([
            "simulate", "--config", path, "--plugins", plugins, "--server-event", "order.shipped", "--payload", "{}",
        ])
        #expect(invalid.status == 1)
        #expect(invalid.out.contains("refused before any step: payload "), "\(invalid.out)")

        let mixed = try godispatch([
            "simulate", "--config", path, "--plugins", plugins, "--server-event", "order.shipped", "--as", "alice",
        ])
        #expect(mixed.status != 0 && mixed.err.contains("a server event has no sender"), "\(mixed.err)")
    }

    @Test func pluginsMarksTheActionsThatNeedTheSender() throws {
        let result = try godispatch(["plugins", "--plugins", try makePluginDirectory(bundledPlugins)])
        #expect(result.status == 0)
        let marked = result.out.split(separator: "\n").filter { $0.hasSuffix("[needs the sender: not in server_events]") }
        #expect(marked.map { $0.split(separator: " ").first.map(String.init) ?? "" }.sorted() == ["_history", "_join", "_leave", "_notify_origin", "_presence"])
    }

    @Test func validateReportsServerEventErrorsWithFileLineAndColumn() throws {
        let path = try writeConfig(
            """
            auth: { jwt: { secret: "a-long-enough-secret-for-hs256-0123" } }
            events:
              ping:
                pipeline: []
            server_events:
              order.shipped:
                pipeline:
                  - action: _notify_origin
                    params: { event: x, payload: "{{user.id}}" }

            """)
        let plugins = try makePluginDirectory(bundledPlugins)
        let result = try godispatch(["validate", "--config", path, "--plugins", plugins])
        #expect(result.status == 2)
        let lines = result.err.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(path):8:17: error: action `_notify_origin` acts on the connection") }, "\(result.err)")
        #expect(lines.contains { $0.hasPrefix("\(path):9:38: error: in param `payload` of `_notify_origin`: `{{user.id}}`") }, "\(result.err)")

        let good = try godispatch(["validate", "--config", try writeConfig(Self.config), "--plugins", plugins])
        #expect(good.status == 0, "\(good.err)")
        #expect(good.out.hasSuffix(": ok (1 events, 1 server events, 11 actions)\n"), "\(good.out)")
    }
}
