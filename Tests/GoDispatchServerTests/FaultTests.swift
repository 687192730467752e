import Foundation
import GoDispatchCore
import GoDispatchServer
import Testing

@Suite("Promises kept under awkward timing")
struct FaultTests {
    @Test func aMessageRightAfterARefreshIsJudgedByTheRefreshedPermissions() async throws {
        try await ServerHarness.with { h in
        let client = try await h.connect("alice")  // no permissions yet
        try await client.send(#"{"event":"room.join","target":"lobby"}"#)
        #expect(await client.nextJSON()?["event"] == .string("joined"))
        let fresh = try await ServerHarness.token(perms: ["chat:write"])
        // Sent in one write: the chat message must wait for the refresh's verification.
        try await client.client.send(texts: [
            #"{"event":"auth.refresh","payload":{"token":"\#(fresh)"}}"#,
            #"{"event":"chat.send","target":"lobby","payload":{"text":"hi"}}"#,
        ])
        #expect(await client.nextJSON()?["event"] == .string("auth.refreshed"))
        let next = try #require(await client.nextJSON())
        #expect(next["event"] == .string("chat.message"), "\(next.jsonText)")
        }
    }

    @Test func shutdownWaitsForWebhooksStillUnderWay() async throws {
        let answerDelay = Duration.milliseconds(800)
        let backend = try await TestHTTPServer { _, _ in (200, "{}", answerDelay) }
        let h = try await ServerHarness(
            events: """
                events:
                  hook:
                    pipeline:
                      - action: _webhook
                        params: { url: "\(backend.url)", mode: notify, retries: 0 }
                      - action: _notify_origin
                        params: { event: queued }
                """, serverExtra: ", shutdown_timeout: 20s")
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"hook"}"#)
        #expect(await client.nextJSON()?["event"] == .string("queued"))
        _ = try #require(await backend.requests.take(), "the webhook reached the backend")
        let arrived = ContinuousClock.now
        await h.stop()
        // The backend answers `answerDelay` after the request arrived; shutdown returned only after that.
        #expect(ContinuousClock.now - arrived >= answerDelay, "shutdown did not wait for the callout")
        await backend.stop()
    }
}
