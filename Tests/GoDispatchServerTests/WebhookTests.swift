import Foundation
import GoDispatchCore
import GoDispatchServer
import Testing

@Suite("Webhooks against a real local HTTP server")
struct WebhookTests {
    static let webhookSecret = "webhook-signing-secret"

    func harness(_ server: TestHTTPServer, step: String, after: String = "", threads: Int = 2) async throws -> ServerHarness {
        try await ServerHarness(
            config: "plugins: { settings: { webhook: { secret: \(Self.webhookSecret) } } }",
            events: """
                events:
                  hook:
                    pipeline:
                      - id: hook
                        action: _webhook
                        params: { url: "\(server.url)", \(step) }
                      - action: _notify_origin
                        params: { event: after, payload: \(after.isEmpty ? "\"{{steps.hook}}\"" : after) }
                  echo:
                    pipeline:
                      - action: _notify_origin
                        params: { event: echo, payload: "{{payload}}" }
                """, threads: threads)
    }

    @Test func theSignatureVerifiesWithTheSecretAndTheDocumentDescribesTheMessage() async throws {
        let backend = try await TestHTTPServer { _, _ in (200, "{}", .zero) }
        let h = try await harness(backend, step: "mode: notify, headers: { X-Tenant: acme }")
        let client = try await h.connect("alice", perms: ["p1"])
        try await client.send(#"{"event":"hook","target":"lobby","id":"m7","payload":{"text":"hi"}}"#)
        let request = try #require(await backend.requests.take())
        #expect(request.method == "POST")
        #expect(request.headers.first(name: "X-Tenant") == "acme")
        #expect(request.headers.first(name: "Content-Type") == "application/json")
        let timestamp = try #require(request.headers.first(name: "X-GoDispatch-Timestamp"))
        let expected = AsyncHTTPCallout.signature(
            secret: Array(Self.webhookSecret.utf8), timestamp: timestamp, body: request.body)
        #expect(request.headers.first(name: "X-GoDispatch-Signature") == "sha256=" + expected)
        let document = try JSONReader.parse(request.body)
        #expect(document["event"] == .string("hook"))
        #expect(document["target"] == .string("lobby"))
        #expect(document["payload"] == .object([("text", .string("hi"))]))
        #expect(document["user"] == .object([("id", .string("alice")), ("perms", .array([.string("p1")]))]))
        #expect(document["message_id"] == .string("m7"))
        #expect(document["connection_id"] != nil && document["timestamp"] != nil)
        #expect(await client.nextJSON()?["payload"] == .object([("queued", .bool(true))]))
        await h.stop()
        await backend.stop()
    }

    @Test func notifyGoesOnAtOnceAndRetriesA500() async throws {
        let backend = try await TestHTTPServer { index, _ in index == 0 ? (500, "{}", .milliseconds(300)) : (200, "{}", .zero) }
        let h = try await harness(backend, step: "mode: notify, retries: 2")
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"hook"}"#)
        // The pipeline did not wait for the (slow, failing) first attempt.
        #expect(await client.nextJSON()?["event"] == .string("after"))
        #expect(await backend.requests.take() != nil, "first attempt")
        #expect(await backend.requests.take() != nil, "the retry after the 500")
        // Sentinel: the next request the backend sees is a new message's, not a third attempt.
        try await client.send(#"{"event":"hook","payload":"sentinel"}"#)
        let next = try #require(await backend.requests.take())
        #expect(next.text.contains("sentinel"), "a third attempt after a 200")
        await h.stop()
        await backend.stop()
    }

    @Test func callModeFeedsTheResponseIntoTheNextStep() async throws {
        let backend = try await TestHTTPServer { _, _ in (200, #"{"allowed":true,"score":7}"#, .zero) }
        let h = try await harness(backend, step: "mode: call", after: "\"{{steps.hook.response.score}}\"")
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"hook"}"#)
        #expect(await client.nextJSON()?["payload"] == .number("7"))
        await h.stop()
        await backend.stop()
    }

    @Test func aDenyStopsThePipelineWithForbidden() async throws {
        let backend = try await TestHTTPServer { _, _ in (200, #"{"deny":"not today"}"#, .zero) }
        let h = try await harness(backend, step: "mode: call")
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"hook","id":1}"#)
        let frame = try #require(await client.nextJSON())
        #expect(frame.errorCode == "forbidden")
        #expect(frame["payload"]?["message"] == .string("not today"))
        await h.stop()
        await backend.stop()
    }

    @Test func aTimeoutOrAnErrorStatusGivesActionFailed() async throws {
        let slow = try await TestHTTPServer { _, _ in (200, "{}", .seconds(3)) }
        let h = try await harness(slow, step: "mode: call, timeout: 300ms")
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"hook"}"#)
        let frame = try #require(await client.nextJSON())
        #expect(frame.errorCode == "action_failed")
        #expect(frame["payload"]?["message"] == .string("_webhook: timed out after 0.3 seconds"))
        await h.stop()
        await slow.stop()

        let failing = try await TestHTTPServer { _, _ in (503, "{}", .zero) }
        let h2 = try await harness(failing, step: "mode: call")
        let client2 = try await h2.connect("alice")
        try await client2.send(#"{"event":"hook"}"#)
        #expect(await client2.nextJSON()?["payload"]?["message"] == .string("_webhook: \(failing.url) answered 503"))
        await h2.stop()
        await failing.stop()
    }

    @Test func theEventLoopStaysResponsiveDuringASlowWebhook() async throws {
        let backend = try await TestHTTPServer { _, _ in (200, #"{"ok":true}"#, .seconds(2)) }
        // One event loop: both connections share it.
        let h = try await harness(backend, step: "mode: call", threads: 1)
        let slow = try await h.connect("alice")
        let other = try await h.connect("bob")
        try await slow.send(#"{"event":"hook"}"#)
        _ = await backend.requests.take()
        let start = ContinuousClock.now
        for index in 0..<5 {
            try await other.send(#"{"event":"echo","payload":\#(index)}"#)
            #expect(await other.nextJSON()?["payload"] == .number("\(index)"))
        }
        #expect(ContinuousClock.now - start < .seconds(2), "answered while the webhook was still pending")
        #expect(await slow.nextJSON()?["event"] == .string("after"))
        await h.stop()
        await backend.stop()
    }
}
