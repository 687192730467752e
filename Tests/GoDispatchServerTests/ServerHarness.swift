import Foundation
import GoDispatchClient
import GoDispatchCore
import GoDispatchServer
import GoDispatchTestSupport
import JWTKit
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing

/// A real server on 127.0.0.1 (port 0) with the real bundled plugins, and helpers to sign tokens and
/// connect real WebSocket clients.
final class ServerHarness: Sendable {
    static let secret = "server-test-secret-0123456789abcdef"
    /// One HTTP client for every test's webhooks (the host table holds one per process).
    static let callout = AsyncHTTPCallout(
        group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    let server: WebSocketServer
    let port: Int
    /// The server's own event loops, shut down by ``stop()``.
    let group: MultiThreadedEventLoopGroup

    static let chatEvents = """
        events:
          room.join:
            pipeline:
              - action: _join
                params: { room: "{{target}}" }
              - action: _notify_origin
                params: { event: joined, target: "{{target}}" }
          chat.send:
            requires: [chat:write]
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: chat.message, payload: { text: "{{payload.text}}" } }
          echo:
            pipeline:
              - action: _notify_origin
                params: { event: echo, payload: "{{payload}}" }
          fanout:
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: fanout, payload: "{{payload}}", exclude_origin: true }
        """

    init(
        config extra: String = "", events: String = ServerHarness.chatEvents,
        auth: String = "jwt: { secret: \"\(ServerHarness.secret)\", leeway: 2s }", serverExtra: String = "",
        threads: Int = 2, clock: @escaping @Sendable () -> Date = Date.init, metrics: GoDispatchMetrics? = nil
    ) async throws {
        let yaml = """
            server: { listen: "127.0.0.1:0", max_message_bytes: 1024\(serverExtra) }
            auth:
              \(auth)
            \(extra)
            \(events)
            """
        let settings = try ConfigLoader(environment: [:]).parse(yaml, file: "server-test.yaml")
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let engine = try Engine(
            settings: settings, pluginsDirectory: try makePluginDirectory(bundledPlugins),
            fanOut: WebSocketServer.makeFanOut(), httpCallout: Self.callout, metrics: metrics?.engine, logger: logger)
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        server = try await WebSocketServer(engine: engine, group: group, clock: clock, metrics: metrics, logger: logger)
        port = try await server.start(port: 0).port!
    }

    /// Signs claims with HS256 and the server's secret (or `secret`).
    static func token(
        sub: String? = "alice", perms: [String]? = nil, expiresIn: TimeInterval = 3600, secret: String = secret,
        now: Date = Date()
    ) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(
            TokenClaims(sub: sub, expires: now.addingTimeInterval(expiresIn), perms: perms))
    }

    /// Connects with a token in the `Authorization` header (or the query, or none).
    func connect(token: String?, viaQuery: Bool = false, path: String = "/ws") async throws -> TestClient {
        var headers: [(String, String)] = []
        var target = path
        if let token {
            if viaQuery { target += "?token=\(token)" } else { headers.append(("Authorization", "Bearer \(token)")) }
        }
        let client = try await WebSocketClient.connect(host: "127.0.0.1", port: port, path: target, headers: headers)
        return TestClient(client)
    }

    /// Connects as `user` with permissions.
    func connect(_ user: String, perms: [String] = []) async throws -> TestClient {
        try await connect(token: try await Self.token(sub: user, perms: perms))
    }

    /// Connects each of `users` and joins it to `room` (through the chat events' `room.join`), expecting
    /// `joined` for each.
    func connectJoined(_ users: [String], room: String) async throws -> [TestClient] {
        var clients: [TestClient] = []
        for user in users {
            let client = try await connect(user)
            try await client.send(#"{"event":"room.join","target":"\#(room)"}"#)
            #expect(await client.nextJSON()?["event"] == .string("joined"), "\(user) joined \(room)")
            clients.append(client)
        }
        return clients
    }

    /// Connects with a token and extra headers.
    func connect(token: String, headers: [(String, String)]) async throws -> TestClient {
        TestClient(
            try await WebSocketClient.connect(
                host: "127.0.0.1", port: port, path: "/ws", headers: headers + [("Authorization", "Bearer \(token)")]))
    }

    /// The HTTP status a connection attempt is refused with (nil if it was accepted).
    func refusal(token: String?, headers: [(String, String)] = []) async -> (status: Int, body: String)? {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        do {
            let client = try await WebSocketClient.connect(host: "127.0.0.1", port: port, path: "/ws", headers: all)
            await client.disconnect()
            return nil
        } catch WebSocketClientError.rejected(let status, let body) {
            return (status, body)
        } catch {
            return (-1, "\(error)")
        }
    }

    /// Shuts the server down, then its event loops.
    func stop() async {
        await server.shutdown()
        try? await group.shutdownGracefully()
    }

    /// Runs `body` against a fresh server and stops it afterwards, also when `body` throws.
    static func with<R>(
        config: String = "", events: String = ServerHarness.chatEvents, serverExtra: String = "",
        clock: @escaping @Sendable () -> Date = Date.init, _ body: (ServerHarness) async throws -> R
    ) async throws -> R {
        let harness = try await ServerHarness(config: config, events: events, serverExtra: serverExtra, clock: clock)
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }
}

/// A connected client whose events are queued for the test to await with a timeout.
final class TestClient: Sendable {
    let client: WebSocketClient
    let events = Mailbox<ClientEvent>()

    init(_ client: WebSocketClient) {
        self.client = client
        let events = self.events
        let stream = client.events
        Task {
            for await event in stream { events.put(event) }
        }
    }

    /// The next event, or nil after `timeout`.
    func next(timeout: Duration = .seconds(30)) async -> ClientEvent? { await events.take(timeout: timeout) }

    /// The next text message as JSON.
    func nextJSON(timeout: Duration = .seconds(30)) async -> JSONValue? {
        guard case .text(let text)? = await next(timeout: timeout) else { return nil }
        return try? JSONReader.parse(Array(text.utf8))
    }

    /// Waits for the server's close frame and returns its code.
    func closeCode(timeout: Duration = .seconds(30)) async -> UInt16? {
        while let event = await next(timeout: timeout) {
            switch event {
            case .close(let code, _): return code
            case .disconnected: return nil
            default: continue
            }
        }
        return nil
    }

    func send(_ text: String) async throws { try await client.send(text: text) }
}

extension JSONValue {
    var errorCode: String? {
        guard self["event"] == .string("error"), case .string(let code)? = self["payload"]?["code"] else { return nil }
        return code
    }
}

/// A wall clock the test moves by hand (token expiry is judged by it).
final class ManualWallClock: Sendable {
    private let current = Locked(Date())
    /// The time now.
    var now: Date { current.withLock { $0 } }
    /// Moves the clock forward.
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
