import Foundation
import GoDispatchCore
import GoDispatchServer
import Testing

@Suite("Lifecycle pipelines end to end")
struct LifecycleTests {
    static func events(hook: String) -> String {
        """
        lifecycle:
          connect:
            pipeline:
              - action: _join
                params: { room: lobby }
              - action: _notify_origin
                params: { event: welcome, payload: { user: "{{user.id}}" } }
          disconnect:
            pipeline:
              - action: _notify_room
                params:
                  room: lobby
                  event: left
                  exclude_origin: true
                  payload: { user: "{{user.id}}", code: "{{close.code}}", reason: "{{close.reason}}" }
              - action: _webhook
                params: { url: "\(hook)", mode: notify, headers: { X-Close: "{{user.id}} {{close.code}}" } }
        events:
          echo:
            pipeline:
              - action: _notify_origin
                params: { event: echo, payload: "{{payload}}" }
        """
    }

    @Test func connectRunsBeforeTheFirstMessageAndDisconnectTellsTheRoom() async throws {
        let backend = try await TestHTTPServer { _, _ in (200, "{}", .zero) }
        let h = try await ServerHarness(events: Self.events(hook: backend.url))
        let alice = try await h.connect("alice")
        try await alice.send(#"{"event":"echo","payload":1}"#)
        #expect(await alice.nextJSON()?["event"] == .string("welcome"), "the connect pipeline ran first")
        #expect(await alice.nextJSON()?["event"] == .string("echo"))
        let bob = try await h.connect("bob")
        #expect(await bob.nextJSON()?["payload"] == .object([("user", .string("bob"))]))
        try await alice.client.close(code: 1000)
        let left = try #require(await bob.nextJSON())
        #expect(left["event"] == .string("left"))
        #expect(left["payload"] == .object([("user", .string("alice")), ("code", .number("1000")), ("reason", .string(""))]))
        #expect(await backend.requests.take()?.headers.first(name: "X-Close") == "alice 1000")
        await h.stop()
        await backend.stop()
    }

    @Test func aDisconnectCausedByTheCycleLimitCarries4001() async throws {
        let backend = try await TestHTTPServer { _, _ in (200, "{}", .zero) }
        let h = try await ServerHarness(
            config: "connections: { per_user_limit: 1, strategy: cycle }", events: Self.events(hook: backend.url))
        let observer = try await h.connect("bob")
        _ = await observer.nextJSON()
        let first = try await h.connect("carol")
        _ = await first.nextJSON()
        _ = try await h.connect("carol")
        let left = try #require(await observer.nextJSON())
        #expect(left["payload"]?["code"] == .number("4001"))
        #expect(left["payload"]?["reason"] == .string("replaced by a newer connection (limit 1 per user)"))
        await h.stop()
        await backend.stop()
    }

    @Test func aDisconnectCausedByShutdownCarries1001() async throws {
        let backend = try await TestHTTPServer { _, _ in (200, "{}", .zero) }
        let h = try await ServerHarness(events: Self.events(hook: backend.url))
        let alice = try await h.connect("alice")
        _ = await alice.nextJSON()
        await h.stop()
        #expect(await backend.requests.take()?.headers.first(name: "X-Close") == "alice 1001")
        await backend.stop()
    }
}
