import Foundation
import GoDispatchCore
import GoDispatchTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Opens a socket that sends the start of an upgrade request and then nothing: a slowloris.
private func halfOpen(port: Int) async throws -> RawClient {
    let client = try await RawClient.connect(port: port)
    try await client.write(Array("GET /ws HTTP/1.1\r\nHost: x\r\n".utf8))
    return client
}

/// Tries to connect until the server accepts (polling is only for the wait; the proof is the acceptance).
private func acceptedEventually(_ h: ServerHarness, token: String, headers: [(String, String)] = []) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if await h.refusal(token: token, headers: headers) == nil { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}

/// Raises this process's soft limit on open files to at least `needed` (up to the hard limit).
private func raiseOpenFileLimit(to needed: UInt) {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < needed else { return }
    limit.rlim_cur = min(needed, limit.rlim_max)
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}

@Suite("The door: abuse before the upgrade completes (real sockets)")
struct DoorTests {
    @Test func slowlorisSocketsAreClosedAfterTheHandshakeTimeout() async throws {
        let h = try await ServerHarness(serverExtra: ", handshake_timeout: 300ms")
        var sockets = [try await RawClient.connect(port: h.port)]  // one that sends nothing at all
        for _ in 0..<20 {
            let socket = try await RawClient.connect(port: h.port)
            // On a busy machine the deadline may pass before this write: the server has then closed it already.
            try? await socket.write(Array("GET /ws HTTP/1.1\r\nHost: x\r\n".utf8))
            sockets.append(socket)
        }
        for socket in sockets {
            #expect(await socket.closedByServer(timeout: .seconds(30)), "a slowloris is closed by the deadline")
        }
        #expect(h.server.timedOutHandshakes == 21)
        try await eventually(timeout: .seconds(30)) { h.server.pendingHandshakes == 0 }
        await h.stop()
    }

    @Test func theDeadlineIsForTheHandshakeOnly() async throws {
        let h = try await ServerHarness(serverExtra: ", handshake_timeout: 8s")  // long enough for an upgrade on a busy machine
        let upgraded = try await h.connect("early")
        let slowloris = try await halfOpen(port: h.port)
        #expect(await slowloris.closedByServer(timeout: .seconds(30)))
        // The slowloris's deadline has passed, so the upgraded connection's would have too: it is still here.
        try await upgraded.send(#"{"event":"echo","payload":"still here"}"#)
        #expect(await upgraded.nextJSON()?["payload"] == .string("still here"))
        #expect(h.server.timedOutHandshakes == 1)
        await h.stop()
    }

    @Test func thePendingCapRefusesNewSocketsAtOnceAndFreesUpAsTheyGo() async throws {
        let h = try await ServerHarness(serverExtra: ", handshake_timeout: 60s, max_pending_handshakes: 5")
        var held: [RawClient] = []
        for _ in 0..<5 { held.append(try await halfOpen(port: h.port)) }
        try await eventually(timeout: .seconds(30)) { h.server.pendingHandshakes == 5 }
        let refused = try await RawClient.connect(port: h.port)
        try? await refused.write(Array("GET /ws HTTP/1.1\r\n".utf8))  // fails if the close came first: fine
        #expect(await refused.closedByServer(timeout: .seconds(30)), "closed at once, not at the 60 s deadline")
        #expect(refused.unread.isEmpty, "closed unread and unanswered")
        #expect(h.server.refusedHandshakes == 1)
        #expect(h.server.pendingHandshakes == 5, "the refused socket never took a slot")
        for socket in held { await socket.close() }
        try await eventually(timeout: .seconds(30)) { h.server.pendingHandshakes == 0 }
        let client = try await h.connect("after")
        try await client.send(#"{"event":"echo","payload":"in"}"#)
        #expect(await client.nextJSON()?["payload"] == .string("in"))
        try await eventually(timeout: .seconds(30)) { h.server.pendingHandshakes == 0 }
        await h.stop()
    }

    @Test func perIPMaxRefusesWith429UntilAConnectionCloses() async throws {
        let h = try await ServerHarness(config: "connections: { per_ip: { max: 2 } }")
        let first = try await h.connect("a")
        _ = try await h.connect("b")
        let refusal = await h.refusal(token: try await ServerHarness.token(sub: "c"))
        #expect(refusal?.status == 429)
        #expect(refusal?.body == "too many open connections from your address (connections.per_ip.max: 2)")
        await first.client.disconnect()
        #expect(await acceptedEventually(h, token: try await ServerHarness.token(sub: "c")), "the closed one's place is free")
        await h.stop()
    }

    @Test func anUpgradeRefusedLaterInTheGatewayGivesItsPlaceBack() async throws {
        let h = try await ServerHarness(config: "connections: { per_ip: { max: 1 } }")
        for _ in 0..<3 { #expect(await h.refusal(token: "not-a-jwt")?.status == 401, "401, not 429") }
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"echo","payload":"ok"}"#)
        #expect(await client.nextJSON()?["payload"] == .string("ok"))
        await h.stop()
    }

    @Test func perIPRateRefusesWith429() async throws {
        let h = try await ServerHarness(config: "connections: { per_ip: { rate: { connections: 1, per: 1h, burst: 2 } } }")
        for user in ["a", "b"] { await (try await h.connect(user)).client.disconnect() }
        let refusal = await h.refusal(token: try await ServerHarness.token(sub: "c"))
        #expect(refusal?.status == 429)
        #expect(refusal?.body == "too many new connections from your address (connections.per_ip.rate: 1 per 3600s, burst 2); retry later")
        await h.stop()
    }

    @Test func theForwardedAddressCountsOnlyFromATrustedPeer() async throws {
        let trusting = try await ServerHarness(config: #"connections: { per_ip: { max: 1, trusted_proxies: ["127.0.0.1"] } }"#)
        func forwarded(_ value: String) -> [(String, String)] { [("X-Forwarded-For", value)] }
        let token = try await ServerHarness.token(sub: "via-proxy")
        _ = try await trusting.connect(token: token, headers: forwarded("203.0.113.5"))
        _ = try await trusting.connect(token: token, headers: forwarded("203.0.113.6"))
        #expect(await trusting.refusal(token: token, headers: forwarded("203.0.113.5"))?.status == 429)
        #expect(
            await trusting.refusal(token: token, headers: forwarded("6.6.6.6, 203.0.113.5"))?.status == 429,
            "the right-most untrusted entry counts, not what the client wrote before it")
        await trusting.stop()

        // 127.0.0.1 is not a trusted proxy here: its header is ignored and every client is 127.0.0.1.
        let wary = try await ServerHarness(config: #"connections: { per_ip: { max: 1, trusted_proxies: ["10.0.0.0/8"] } }"#)
        _ = try await wary.connect(token: token, headers: forwarded("203.0.113.5"))
        #expect(await wary.refusal(token: token, headers: forwarded("203.0.113.6"))?.status == 429)
        await wary.stop()
    }

    @Test func healthAndARealClientWorkWhile1000HalfOpenSocketsAreHeld() async throws {
        raiseOpenFileLimit(to: 8192)  // 1,000 sockets at each end, plus the test's own
        let h = try await ServerHarness(serverExtra: ", handshake_timeout: 120s")
        let held = try await withThrowingTaskGroup(of: [RawClient].self) { group in
            for _ in 0..<20 {
                group.addTask { var batch: [RawClient] = []; for _ in 0..<50 { batch.append(try await halfOpen(port: h.port)) }; return batch }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(held.count == 1000)
        try await eventually(timeout: .seconds(60)) { h.server.pendingHandshakes == 1000 }
        #expect(try await httpStatus(port: h.port, path: "/healthz") == 200)
        let client = try await h.connect("steady")
        try await client.send(#"{"event":"room.join","target":"lobby"}"#)
        #expect(await client.nextJSON()?["event"] == .string("joined"))
        try await client.send(#"{"event":"echo","payload":"through the crowd"}"#)
        #expect(await client.nextJSON()?["payload"] == .string("through the crowd"))
        #expect(h.server.pendingHandshakes >= 1000, "the half-open sockets were held all along")
        #expect(h.server.refusedHandshakes == 0)
        for socket in held { await socket.close() }
        await h.stop()
    }

    @Test func validateReportsDoorSettingsWithFileLineAndColumn() throws {
        let path = try writeConfig(
            """
            server: { handshake_timeout: 0s }
            auth: { jwt: { secret: "a-long-enough-secret-for-hs256-0123" } }
            connections:
              per_ip: { max: 3, trusted_proxies: ["10.0.0.0/8", "10.0.0.0/40"] }
            events:
              e:
                pipeline:
                  - action: _join
                    params: { room: lobby }

            """)
        let result = try godispatch(["validate", "--config", path, "--plugins", try makePluginDirectory(bundledPlugins)])
        #expect(result.status == 2)
        #expect(result.err.contains("\(path):1:30: error: `server.handshake_timeout` must be longer than 0"))
        #expect(result.err.contains(#"\#(path):4:53: error: "10.0.0.0/40" in `connections.per_ip.trusted_proxies`"#))
    }
}
