import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GoDispatchClient
import GoDispatchCore
@testable import GoDispatchServer
import GoDispatchTestSupport
import NIOCore
import NIOWebSocket
import Testing

@Suite("Server end to end (real sockets, real JWTs, real plugins)")
struct ServerTests {
    @Test func twoUsersChatAndANonMemberHearsNothing() async throws {
        let h = try await ServerHarness()
        let alice = try await h.connect("alice", perms: ["chat:write"])
        let bob = try await h.connect("bob")
        let carol = try await h.connect("carol")
        for client in [alice, bob] {
            try await client.send(#"{"event":"room.join","target":"lobby"}"#)
            #expect(await client.nextJSON()?["event"] == .string("joined"))
        }
        try await alice.send(#"{"event":"chat.send","target":"lobby","payload":{"text":"hi bob"}}"#)
        let expected = JSONValue.object([
            ("event", .string("chat.message")), ("target", .string("lobby")),
            ("payload", .object([("text", .string("hi bob"))])), ("from", .string("alice")),
        ])
        #expect(await bob.nextJSON() == expected)
        #expect(await alice.nextJSON() == expected)
        // Sentinel: Carol's echo is her next frame; a leaked chat message would have come first.
        try await carol.send(#"{"event":"echo","payload":"sentinel"}"#)
        #expect(await carol.nextJSON()?["event"] == .string("echo"), "a non-member received the chat message")
        await h.stop()
    }

    @Test func tokenInTheQueryWorksForBrowsers() async throws {
        let h = try await ServerHarness()
        let client = try await h.connect(token: try await ServerHarness.token(sub: "browser"), viaQuery: true)
        try await client.send(#"{"event":"echo","payload":{"n":1}}"#)
        let frame = try #require(await client.nextJSON())
        #expect(frame["from"] == .string("browser"))
        #expect(frame["payload"] == .object([("n", .number("1"))]))
        await h.stop()
    }

    @Test func everyBadTokenGets401() async throws {
        let h = try await ServerHarness()
        let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URL
        let body = Data(#"{"sub":"mallory","exp":9999999999}"#.utf8).base64URL
        let cases: [(String?, String)] = [
            (nil, "missing token"),
            ("garbage", "malformed token"),
            (try await ServerHarness.token(secret: "another-secret-another-secret-00"), "bad signature"),
            (try await ServerHarness.token(expiresIn: -60), "token expired"),
            ("\(header).\(body).", "algorithm none is not allowed"),
            (try await ServerHarness.token(sub: nil), "no `sub`"),
            (try await ServerHarness.token(sub: ""), "no `sub`"),
        ]
        for (token, reason) in cases {
            let refusal = await h.refusal(token: token)
            #expect(refusal?.status == 401, "\(reason)")
            #expect(refusal?.body.contains(reason) == true, "\(reason): got \(String(describing: refusal))")
        }
        // Within the leeway, an expired token is still accepted.
        #expect(await h.refusal(token: try await ServerHarness.token(expiresIn: -1)) == nil)
        await h.stop()
    }

    @Test func rejectStrategyRefusesTheNewConnectionWith429() async throws {
        let h = try await ServerHarness(config: "connections: { per_user_limit: 2, strategy: reject }")
        let first = try await h.connect("alice")
        let second = try await h.connect("alice")
        let token = try await ServerHarness.token(sub: "alice")
        #expect(await h.refusal(token: token)?.status == 429)
        #expect(await h.refusal(token: try await ServerHarness.token(sub: "bob")) == nil, "other users are not limited")
        // The refused attempt did not disturb the open ones.
        try await first.send(#"{"event":"echo","payload":1}"#)
        #expect(await first.nextJSON()?["payload"] == .number("1"))
        try await second.send(#"{"event":"echo","payload":2}"#)
        #expect(await second.nextJSON()?["payload"] == .number("2"))
        await h.stop()
    }

    @Test func cycleStrategyClosesTheOldestWith4001() async throws {
        let h = try await ServerHarness(config: "connections: { per_user_limit: 2, strategy: cycle }")
        let oldest = try await h.connect("alice")
        let middle = try await h.connect("alice")
        let newest = try await h.connect("alice")
        #expect(await oldest.closeCode() == 4001)
        try await middle.send(#"{"event":"echo","payload":"m"}"#)
        #expect(await middle.nextJSON()?["payload"] == .string("m"))
        try await newest.send(#"{"event":"echo","payload":"n"}"#)
        #expect(await newest.nextJSON()?["payload"] == .string("n"))
        await h.stop()
    }

    @Test func badMessagesGetErrorFramesAndTheConnectionLives() async throws {
        let h = try await ServerHarness()
        let client = try await h.connect("alice")
        for (message, code) in [("{oops", "bad_request"), (#"{"event":"nope","id":"x"}"#, "unknown_event"),
            (#"{"event":"chat.send","target":"lobby"}"#, "forbidden")] {
            try await client.send(message)
            #expect(await client.nextJSON()?.errorCode == code)
        }
        try await client.client.send(frame: WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1, 2])))
        #expect(await client.nextJSON()?.errorCode == "unsupported")
        try await client.send(#"{"event":"echo","payload":"still here"}"#)
        #expect(await client.nextJSON()?["payload"] == .string("still here"))
        await h.stop()
    }

    @Test func fragmentedMessagesAreReassembled() async throws {
        let h = try await ServerHarness()
        let client = try await h.connect("alice")
        let text = #"{"event":"echo","payload":"in three parts"}"#
        let bytes = Array(text.utf8)
        let parts = [bytes[0..<10], bytes[10..<20], bytes[20...]]
        for (index, part) in parts.enumerated() {
            try await client.client.send(
                frame: WebSocketFrame(
                    fin: index == parts.count - 1, opcode: index == 0 ? .text : .continuation,
                    data: ByteBuffer(bytes: Array(part))))
        }
        #expect(await client.nextJSON()?["payload"] == .string("in three parts"))
        await h.stop()
    }

    @Test func oversizeMessagesClose1009() async throws {
        let h = try await ServerHarness()
        let single = try await h.connect("alice")
        try await single.send(#"{"event":"echo","payload":""# + String(repeating: "x", count: 2000) + #""}"#)
        #expect(await single.closeCode() == 1009)
        let fragmented = try await h.connect("bob")
        for index in 0..<3 {
            // The server may close as soon as the second fragment passes the limit: later sends can fail.
            try? await fragmented.client.send(
                frame: WebSocketFrame(
                    fin: index == 2, opcode: index == 0 ? .text : .continuation,
                    data: ByteBuffer(bytes: Array(repeating: UInt8(ascii: "x"), count: 600))))
        }
        #expect(await fragmented.closeCode() == 1009)
        await h.stop()
    }

    @Test func invalidUTF8Closes1007() async throws {
        let h = try await ServerHarness()
        let client = try await h.connect("alice")
        try await client.client.send(textBytes: Array(#"{"event":"echo","payload":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
        #expect(await client.closeCode() == 1007)
        await h.stop()
    }

    @Test func gracefulShutdownSends1001() async throws {
        let h = try await ServerHarness()
        let first = try await h.connect("alice")
        let second = try await h.connect("bob")
        let shutdown = Task { await h.stop() }
        #expect(await first.closeCode() == 1001)
        #expect(await second.closeCode() == 1001)
        await shutdown.value
        #expect(h.server.engine.state.connectionCount == 0)
        #expect(await h.refusal(token: try await ServerHarness.token())?.status == -1, "no longer accepting")
    }

    @Test func aClientTooSlowToReadIsDisconnected() async throws {
        let h = try await ServerHarness(serverExtra: ", max_outbound_bytes: 16384")
        let clients = try await h.connectJoined(["pub", "slow"], room: "firehose")
        let (publisher, slow) = (clients[0], clients[1])
        try await slow.client.pauseReading()
        let text = String(repeating: "x", count: 900)
        let state = h.server.engine.state
        // Publish until the server gives up on the slow reader (its kernel buffers fill first).
        var sent = 0
        while state.user(id: "slow") != nil, sent < 20_000 {
            try await publisher.send(#"{"event":"echo","payload":"\#(text)"}"#)
            try await publisher.send(#"{"event":"fanout","target":"firehose","payload":"\#(text)"}"#)
            sent += 1
            if sent % 200 == 0 {
                // Let the publisher's own echoes drain so only the slow client falls behind.
                while publisher.events.pending.count > 0 { _ = await publisher.next(timeout: .seconds(1)) }
            }
        }
        try await eventually(timeout: .seconds(30)) { state.user(id: "slow") == nil }
        #expect(state.user(id: "pub") != nil, "the publisher is unaffected")
        await h.stop()
    }

    @Test func aSilentClientIsClosedAfterTheIdleTimeout() async throws {
        // Generous against a busy machine: a responsive client must answer within the idle timeout.
        let h = try await ServerHarness(serverExtra: ", ping_interval: 300ms, idle_timeout: 2s")
        let responsive = try await h.connect("awake")
        let silent = try await h.connect("asleep")
        try await silent.client.pauseReading()
        let state = h.server.engine.state
        try await eventually(timeout: .seconds(30)) { state.user(id: "asleep") == nil }
        // The responsive client answers the pings and stays.
        try await responsive.send(#"{"event":"echo","payload":"still here"}"#)
        #expect(await responsive.nextJSON()?["payload"] == .string("still here"))
        await h.stop()
    }

    @Test func aSweepReachesEveryConnectionWhenTheyAreMoreThanOneSlice() async throws {
        // A sweep goes through a loop's connections a slice at a time. A slice's worth of clients that
        // answer pings come first; the silent ones after them are only seen if the later slices run.
        let h = try await ServerHarness(serverExtra: ", ping_interval: 300ms, idle_timeout: 2s", threads: 1)
        var responsive: [TestClient] = []
        for index in 0..<ConnectionSweeper.sliceSize { responsive.append(try await h.connect("awake\(index)")) }
        var silent: [TestClient] = []
        for index in 0..<50 {
            let client = try await h.connect("asleep\(index)")
            try await client.client.pauseReading()
            silent.append(client)
        }
        let state = h.server.engine.state
        try await eventually(timeout: .seconds(60)) { (0..<50).allSatisfy { state.user(id: "asleep\($0)") == nil } }
        #expect(state.connectionCount == ConnectionSweeper.sliceSize, "the clients that answer pings stay")
        try await responsive.last!.send(#"{"event":"echo","payload":"still here"}"#)
        #expect(await responsive.last!.nextJSON()?["payload"] == .string("still here"))
        await h.stop()
    }

    @Test func plainHTTPRequestsGetClearAnswers() async throws {
        let h = try await ServerHarness()
        #expect(try await httpStatus(port: h.port, path: "/healthz") == 200)
        #expect(try await httpStatus(port: h.port, path: "/ws") == 426)
        #expect(try await httpStatus(port: h.port, path: "/elsewhere") == 404)
        await h.stop()
    }
}

/// The status of a plain GET.
func httpStatus(port: Int, path: String) async throws -> Int {
    let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    return (response as? HTTPURLResponse)?.statusCode ?? -1
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Waits until `condition` holds (checked every few milliseconds), failing the test after `timeout`.
func eventually(timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
