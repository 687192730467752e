import Foundation
import GoDispatchClient
import GoDispatchCore
import Testing

@testable import GoDispatchServer

@Suite("Prometheus metrics")
struct MetricsTests {
    static let room = "room-7f3a91"
    static let events = """
        lifecycle:
          disconnect:
            pipeline:
              - action: _notify_room
                params: { room: \(room), event: left, exclude_origin: true }
        events:
          room.join:
            pipeline:
              - action: _join
                params: { room: "{{target}}" }
              - action: _notify_origin
                params: { event: joined, target: "{{target}}" }
          room.leave:
            pipeline:
              - action: _leave
                params: { room: "{{target}}" }
          chat.send:
            requires: [chat:write]
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: chat.message, payload: { text: "{{payload.text}}" } }
          echo:
            pipeline:
              - action: _notify_origin
                params: { event: echo, payload: "{{payload}}" }
        """

    /// A client whose received frames and sent bytes the test tallies.
    final class Tally: @unchecked Sendable {
        var framesReceived = 0
        var bytesReceivedOnTheWire = 0
        var bytesSentOnTheWire = 0

        /// A server frame of `text`: 2 header bytes (+2 from 126 bytes), unmasked.
        func received(_ json: String) {
            framesReceived += 1
            bytesReceivedOnTheWire += json.utf8.count + (json.utf8.count < 126 ? 2 : 4)
        }

        /// A client frame of `text`: 2 header bytes (+2 from 126 bytes) and a 4-byte mask.
        func sent(_ text: String) { bytesSentOnTheWire += text.utf8.count + (text.utf8.count < 126 ? 6 : 8) }
    }

    /// Sends `text` and returns the next frame (tallied).
    static func exchange(_ client: TestClient, _ text: String, _ tally: Tally) async throws -> JSONValue? {
        tally.sent(text)
        try await client.send(text)
        return try await receive(client, tally)
    }

    static func receive(_ client: TestClient, _ tally: Tally) async throws -> JSONValue? {
        guard case .text(let json)? = await client.next() else { return nil }
        tally.received(json)
        return try JSONReader.parse(Array(json.utf8))
    }

    @Test func aRealSessionIsCountedWithBoundedLabelsAndRendersValidText() async throws {
        let metrics = GoDispatchMetrics()
        // No keepalive pings during the test: a pong would add to the bytes received.
        let h = try await ServerHarness(
            config: "connections: { per_user_limit: 1, strategy: reject }", events: Self.events,
            serverExtra: ", ping_interval: 1h, idle_timeout: 2h", metrics: metrics)
        let endpoint = MetricsEndpoint(metrics: metrics)
        let tally = Tally()
        let (aliceID, bobID) = ("user-alice-5d1e", "user-bob-77c2")
        let unknownEvent = "nope.\(UUID().uuidString)"
        let neverJoined = "never-joined-\(UUID().uuidString)"

        #expect(await h.refusal(token: nil)?.status == 401)
        let alice = try await h.connect(aliceID, perms: ["chat:write"])
        let bob = try await h.connect(bobID)
        #expect(await h.refusal(token: try await ServerHarness.token(sub: aliceID))?.status == 429)

        let join = #"{"event":"room.join","target":"\#(Self.room)"}"#
        #expect(try await Self.exchange(alice, join, tally)?["event"] == .string("joined"))
        #expect(try await Self.exchange(bob, join, tally)?["event"] == .string("joined"))
        let echo = #"{"event":"echo","payload":{"n":1}}"#
        #expect(try await Self.exchange(alice, echo, tally)?["event"] == .string("echo"))
        let chat = #"{"event":"chat.send","target":"\#(Self.room)","payload":{"text":"hi"}}"#
        #expect(try await Self.exchange(alice, chat, tally)?["event"] == .string("chat.message"))
        #expect(try await Self.receive(bob, tally)?["event"] == .string("chat.message"))
        #expect(try await Self.exchange(bob, chat, tally)?.errorCode == "forbidden")
        #expect(try await Self.exchange(alice, #"{"event":"\#(unknownEvent)"}"#, tally)?.errorCode == "unknown_event")
        #expect(try await Self.exchange(alice, "not json", tally)?.errorCode == "bad_request")
        let leave = #"{"event":"room.leave","target":"\#(neverJoined)"}"#
        #expect(try await Self.exchange(alice, leave, tally)?.errorCode == "action_failed")

        // Every client is in the state now (each had an answer): the gauges are exact.
        let connectionIDs = h.server.engine.state.allConnections.map(\.id)
        #expect(connectionIDs.count == 2)
        let middle = try PrometheusText(String(decoding: endpoint.render(), as: UTF8.self))
        #expect(middle.value("godispatch_connections") == 2)
        #expect(middle.value("godispatch_users") == 2)
        #expect(middle.value("godispatch_rooms") == 1)

        let webhooksBefore = HTTPCalloutOutcomes.Outcome.allCases.map { h.server.engine.httpCallouts.outcomes[$0] }
        try await bob.client.close(code: 1000)
        tally.bytesSentOnTheWire += 8  // bob's close frame: header, mask, code
        #expect(await bob.closeCode() == 1000)
        // The disconnect pipeline runs after the close is counted; its frame tells us it ran.
        #expect(try await Self.receive(alice, tally)?["event"] == .string("left"))

        let text = String(decoding: endpoint.render(), as: UTF8.self)
        let webhooksAfter = HTTPCalloutOutcomes.Outcome.allCases.map { h.server.engine.httpCallouts.outcomes[$0] }
        let scrape = try PrometheusText(text)

        #expect(scrape.value("godispatch_build_info", ["version": GoDispatchVersion.current]) == 1)
        #expect(scrape.value("godispatch_connections_accepted_total") == 2)
        #expect(scrape.value("godispatch_connections_rejected_total", ["reason": "unauthorized"]) == 1)
        #expect(scrape.value("godispatch_connections_rejected_total", ["reason": "user_limit"]) == 1)
        #expect(scrape.value("godispatch_connections_rejected_total", ["reason": "origin"]) == 0)
        #expect(scrape.value("godispatch_disconnects_total", ["code": "1000"]) == 1)
        #expect(scrape.value("godispatch_disconnects_total", ["code": "1006"]) == 0)
        let received: [String: Double] = [
            "room.join": 2, "echo": 1, "chat.send": 2, "room.leave": 1, "_unknown": 1, "_invalid": 1, "_system": 0,
        ]
        for (event, count) in received {
            #expect(scrape.value("godispatch_messages_received_total", ["event": event]) == count, "\(event)")
        }
        let runs: [String: Double] = ["room.join": 2, "echo": 1, "chat.send": 1, "room.leave": 1]
        for (event, count) in runs {
            #expect(scrape.value("godispatch_pipeline_duration_seconds_count", ["event": event]) == count, "\(event)")
            let all = scrape.value("godispatch_pipeline_duration_seconds_bucket", ["event": event, "le": "+Inf"])
            #expect(all == count)
        }
        #expect(scrape.value("godispatch_action_failures_total", ["action": "_leave"]) == 1)
        #expect(scrape.value("godispatch_action_failures_total", ["action": "_join"]) == 0)
        for code in ErrorCode.allCases {
            let sent: Set = ["forbidden", "unknown_event", "bad_request", "action_failed"]
            let expected: Double = sent.contains(code.rawValue) ? 1 : 0
            #expect(scrape.value("godispatch_errors_total", ["code": code.rawValue]) == expected, "\(code)")
        }
        #expect(tally.framesReceived == 10)
        #expect(scrape.value("godispatch_frames_sent_total") == Double(tally.framesReceived))
        #expect(scrape.value("godispatch_bytes_sent_total") == Double(tally.bytesReceivedOnTheWire))
        #expect(scrape.value("godispatch_bytes_received_total") == Double(tally.bytesSentOnTheWire))
        // One HTTP callout gate per process: other tests' webhooks count too, so bound it by two readings.
        for (index, outcome) in HTTPCalloutOutcomes.Outcome.allCases.enumerated() {
            let value = try #require(scrape.value("godispatch_webhook_requests_total", ["outcome": outcome.rawValue]))
            #expect(Double(webhooksBefore[index]) <= value && value <= Double(webhooksAfter[index]), "\(outcome)")
        }

        // Labels only from bounded sets: no ids, no room, no client-sent event name.
        for secret in [aliceID, bobID, Self.room, neverJoined, unknownEvent, "not json"] + connectionIDs {
            #expect(!text.contains(secret), "`\(secret)` leaked into the exposition")
        }
        let configured: Set = ["room.join", "room.leave", "chat.send", "echo", "_unknown", "_invalid", "_system"]
        #expect(scrape.labelValues("event").isSubset(of: configured))
        #expect(scrape.labelValues("action").isSubset(of: ["_join", "_leave", "_notify_room", "_notify_origin"]))
        await h.stop()
    }

    @Test func socketsRefusedAtTheDoorAreCountedAsRejections() async throws {
        let metrics = GoDispatchMetrics()
        let h = try await ServerHarness(serverExtra: ", handshake_timeout: 5s, max_pending_handshakes: 1", metrics: metrics)
        let held = try await RawClient.connect(port: h.port)
        try await held.write(Array("GET /ws HTTP/1.1\r\n".utf8))
        try await eventually(timeout: .seconds(30)) { h.server.pendingHandshakes == 1 }
        let refused = try await RawClient.connect(port: h.port)
        #expect(await refused.closedByServer(timeout: .seconds(30)))
        #expect(await held.closedByServer(timeout: .seconds(30)), "the slowloris is closed at its deadline")
        let scrape = try PrometheusText(String(decoding: MetricsEndpoint(metrics: metrics).render(), as: UTF8.self))
        #expect(h.server.refusedHandshakes == 1 && h.server.timedOutHandshakes == 1)
        #expect(scrape.value("godispatch_connections_rejected_total", ["reason": "handshake_limit"]) == 1)
        #expect(scrape.value("godispatch_connections_rejected_total", ["reason": "handshake_timeout"]) == 1)
        #expect(scrape.value("godispatch_connections_accepted_total") == 0)
        // A second scrape adds nothing that did not happen.
        let again = try PrometheusText(String(decoding: MetricsEndpoint(metrics: metrics).render(), as: UTF8.self))
        #expect(again.value("godispatch_connections_rejected_total", ["reason": "handshake_timeout"]) == 1)
        await h.stop()
    }

    @Test func apiRequestsAreCountedByKnownMethodOnly() throws {
        let endpoint = MetricsEndpoint(metrics: GoDispatchMetrics())
        endpoint.recordAPIRequest(method: "publish", result: "ok", duration: .milliseconds(3))
        endpoint.recordAPIRequest(method: "publish", result: "ok", duration: .microseconds(50))
        endpoint.recordAPIRequest(method: "publish", result: "bad_request", duration: .milliseconds(1))
        endpoint.recordAPIRequest(method: "../../etc/passwd", result: "not_found", duration: .milliseconds(1))
        endpoint.recordAPIRequest(method: "history", result: "Oops \"quoted\"\n", duration: .seconds(20))
        let text = String(decoding: endpoint.render(), as: UTF8.self)
        let scrape = try PrometheusText(text)
        #expect(scrape.value("godispatch_api_requests_total", ["method": "publish", "result": "ok"]) == 2)
        #expect(scrape.value("godispatch_api_requests_total", ["method": "publish", "result": "bad_request"]) == 1)
        #expect(scrape.value("godispatch_api_requests_total", ["method": "_unknown", "result": "not_found"]) == 1)
        #expect(scrape.value("godispatch_api_requests_total", ["method": "history", "result": "_other"]) == 1)
        #expect(scrape.value("godispatch_api_duration_seconds_count", ["method": "publish"]) == 3)
        #expect(scrape.value("godispatch_api_duration_seconds_bucket", ["method": "publish", "le": "0.0001"]) == 1)
        #expect(scrape.value("godispatch_api_duration_seconds_bucket", ["method": "history", "le": "10.0"]) == 0)
        #expect(scrape.value("godispatch_api_duration_seconds_bucket", ["method": "history", "le": "+Inf"]) == 1)
        #expect(!text.contains("passwd") && !text.contains("Oops"))
    }

    @Test func aFreshRegistryRendersEverySeriesItKnowsAtZero() throws {
        let metrics = GoDispatchMetrics()
        #expect(MetricsEndpoint.contentType == "text/plain; version=0.0.4; charset=utf-8")
        let scrape = try PrometheusText(String(decoding: MetricsEndpoint(metrics: metrics).render(), as: UTF8.self))
        #expect(scrape.types["godispatch_connections_rejected_total"] == "counter")
        #expect(scrape.types["godispatch_connections"] == "gauge")
        #expect(scrape.value("godispatch_connections_rejected_total", ["reason": "handshake_limit"]) == 0)
        #expect(scrape.value("godispatch_messages_received_total", ["event": "_unknown"]) == 0)
        #expect(scrape.value("godispatch_frames_sent_total") == 0)
        #expect(scrape.value("godispatch_build_info", ["version": GoDispatchVersion.current]) == 1)
    }

    @Test func closeCodesBecomeBoundedLabels() {
        #expect(GoDispatchMetrics.closeCodeLabel(1000) == "1000")
        #expect(GoDispatchMetrics.closeCodeLabel(1006) == "1006")
        #expect(GoDispatchMetrics.closeCodeLabel(4003) == "4003")
        #expect(GoDispatchMetrics.closeCodeLabel(4321) == "4xxx")
        #expect(GoDispatchMetrics.closeCodeLabel(3999) == "3xxx")
        #expect(GoDispatchMetrics.closeCodeLabel(2000) == "other")
        for code in UInt16(0)...UInt16.max {
            #expect(GoDispatchMetrics.closeCodeLabels.contains(GoDispatchMetrics.closeCodeLabel(code)))
            if code > 5000 { break }
        }
    }

    @Test func theCheckerRejectsWhatIsNotTheFormat() throws {
        let good = """
            # HELP a_total Things.
            # TYPE a_total counter
            a_total{x="1",y="q\\"uote"} 3
            # TYPE h histogram
            h_bucket{le="+Inf"} 1
            h_sum 0.5
            h_count 1
            """
        let parsed = try PrometheusText(good)
        #expect(parsed.value("a_total", ["x": "1", "y": "q\"uote"]) == 3)
        #expect(parsed.value("h_count") == 1)
        let bad = [
            "# TYPE a counter\na 1 2",  // a timestamp
            "# TYPE a counter\na{x=\"1\"} one",
            "# TYPE a counter\na{x=1} 1",
            "# TYPE a counter\na{x=\"1\" 1",
            "a 1",  // no # TYPE
            "# TYPE a counter\n# TYPE a counter\na 1",
            "# TYPE a counter\na 1\na 2",
            "# TYPE h histogram\nh_bucket 1",
            "# TYPE a counter\na  1",
            "hello world",
        ]
        for text in bad {
            #expect(throws: PrometheusText.ParseError.self, "\(text)") { try PrometheusText(text) }
        }
    }
}
