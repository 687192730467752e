import AsyncHTTPClient
import Foundation
import GoDispatchClient
import GoDispatchCore
import GoDispatchLoadDriver
import GoDispatchTestSupport
import JWTKit
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Why the cluster could not start or a node did not answer.
struct ClusterFailure: Error, CustomStringConvertible {
    let description: String
}

/// The claims the tests sign: user, expiry, permissions.
struct ClusterClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var perms: [String]

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// The events every node serves.
let clusterEvents = """
    events:
      # {"event":"join","target":"R"} → joined (the membership is in place when it arrives)
      join:
        pipeline:
          - action: _join
            params: { room: "{{target}}" }
          - action: _notify_origin
            params: { event: joined, target: "{{target}}" }
      # {"event":"leave","target":"R"} → left
      leave:
        pipeline:
          - action: _leave
            params: { room: "{{target}}" }
          - action: _notify_origin
            params: { event: left, target: "{{target}}" }
      # {"event":"dm","target":"U","payload":{…}} → `direct` to every connection of U; the sender gets `sent`
      dm:
        requires: [chat]
        pipeline:
          - id: dm
            action: _notify_user
            params: { user: "{{target}}", event: direct, payload: "{{payload}}" }
          - action: _notify_origin
            params: { event: sent, target: "{{target}}", payload: "{{steps.dm}}" }
      # {"event":"say","target":"R","payload":{…}} → `said` to every member of R, on every node
      say:
        requires: [chat]
        pipeline:
          - action: _notify_room
            params: { room: "{{target}}", event: said, payload: "{{payload}}" }
      # {"event":"ping","payload":…} → pong, for users holding `chat`
      ping:
        requires: [chat]
        pipeline:
          - action: _notify_origin
            params: { event: pong, payload: "{{payload}}" }
      # {"event":"mute","target":"M"}: M loses `chat` on every connection, on every node
      mute:
        requires: [moderator]
        pipeline:
          - action: _set_permissions
            params: { user: "{{target}}", remove: [chat] }
          - action: _notify_origin
            params: { event: muted, target: "{{target}}" }
      # {"event":"kick","target":"D"}: every connection of D, on every node, closes with 4008
      kick:
        requires: [moderator]
        pipeline:
          - id: kicked
            action: _disconnect
            params: { user: "{{target}}", code: 4008, reason: "kicked by {{user.id}}" }
          - action: _notify_origin
            params: { event: kicked, target: "{{target}}", payload: "{{steps.kicked}}" }
    """

/// One `godispatch serve` process of the cluster: its WebSocket port, its API port, its log.
final class ClusterNode: Sendable {
    let name: String
    let process: ServerProcess
    let apiPort: Int
    let apiKey: String

    var port: Int { process.port }

    private init(name: String, process: ServerProcess, apiPort: Int, apiKey: String) {
        self.name = name
        self.process = process
        self.apiPort = apiPort
        self.apiKey = apiKey
    }

    /// The configuration of node `name`.
    static func config(
        name: String, apiPort: Int, apiKey: String, secret: String, redisURL: String, prefix: String,
        connections: String
    ) -> String {
        """
        server:
          listen: "127.0.0.1:0"
          path: /ws
          shutdown_timeout: 2s
        api:
          listen: "127.0.0.1:\(apiPort)"
          keys: ["\(apiKey)"]
        auth:
          jwt:
            algorithms: [HS256]
            secret: "\(secret)"
            leeway: 5s
        \(connections)
        broker:
          type: redis
          url: "\(redisURL)"
          prefix: "\(prefix)"
          node_name: "\(name)"
          heartbeat: 200ms
        \(clusterEvents)

        """
    }

    /// Starts node `name` on fresh ports and waits until `/ready` answers 200; a port taken by a parallel test
    /// between the probe and the bind is retried on fresh ones.
    static func start(
        name: String, directory: String, plugins: String, apiKey: String, secret: String, redisURL: String,
        prefix: String, connections: String, expectReady: Bool = true
    ) async throws -> ClusterNode {
        var lastFailure = ""
        for attempt in 1...5 {
            let port = try ServerProcess.freePort()
            let apiPort = try ServerProcess.freePort()
            let configPath = "\(directory)/\(name).yaml"
            try config(
                name: name, apiPort: apiPort, apiKey: apiKey, secret: secret, redisURL: redisURL, prefix: prefix,
                connections: connections
            ).write(toFile: configPath, atomically: true, encoding: .utf8)
            let process = try ServerProcess.launch(
                executable: "\(BuildProducts.directory)/godispatch", config: configPath, plugins: plugins, port: port,
                logPath: "\(directory)/\(name)-\(attempt).log", environment: [:],
                extraArguments: ["--log-level", "info"])
            let node = ClusterNode(name: name, process: process, apiPort: apiPort, apiKey: apiKey)
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if let ended = process.exitDescription() {
                    lastFailure = "node \(name) \(ended) at start; its log:\n\(process.logTail())"
                    break
                }
                // Up: /ready answers 200 (or, for a node started before its Redis, anything at all).
                if let status = await node.readyStatus(), status == 200 || !expectReady { return node }
                try await Task.sleep(for: .milliseconds(50))
            }
            if process.exitDescription() == nil {
                node.kill()
                throw ClusterFailure(
                    description: "node \(name) did not answer /ready within 30 s; its log:\n\(process.logTail())")
            }
            guard lastFailure.contains("already in use") else { throw ClusterFailure(description: lastFailure) }
        }
        throw ClusterFailure(description: lastFailure)
    }

    /// `kill -9`, and waits until the process is reaped.
    func kill() {
        guard process.exitDescription() == nil else { return }
        _ = Glibc.kill(process.pid, SIGKILL)
        while process.exitDescription() == nil { usleep(5_000) }
    }

    /// Whether the process still runs.
    var isRunning: Bool { process.exitDescription() == nil }

    /// The status of `GET /ready` (nil when the listener does not answer).
    func readyStatus() async -> Int? {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(apiPort)/ready")
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(5)) else { return nil }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// `POST /api/<method>` with `body`: the HTTP status and the answer's JSON.
    func api(_ method: String, _ body: String = "{}") async throws -> (status: Int, json: JSONValue?) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(apiPort)/api/\(method)")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: apiKey)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), JSONValue(json: Array(bytes.readableBytesView)))
    }

    /// The node names `info` on this node lists (nil when it does not answer with a list).
    func infoNodeNames() async -> [String]? {
        guard let answer = try? await api("info"), case .array(let nodes)? = answer.json?["result"]?["nodes"] else {
            return nil
        }
        return nodes.compactMap { $0.string("name") }
    }

    /// The last lines of the node's log.
    func logTail(_ lines: Int = 15) -> String { "--- \(name) (\(process.logPath)):\n\(process.logTail(lines: lines))" }
}

/// One `redis-server` and three nodes sharing it (n1, n2, n3), each test its own.
final class Cluster: Sendable {
    let redis: RedisServer
    let nodes: [ClusterNode]
    let minter: JWTKeyCollection
    let directory: String
    /// `broker.prefix` of every node.
    let prefix: String

    var n1: ClusterNode { nodes[0] }
    var n2: ClusterNode { nodes[1] }
    var n3: ClusterNode { nodes[2] }

    private init(redis: RedisServer, nodes: [ClusterNode], minter: JWTKeyCollection, directory: String, prefix: String)
    {
        self.prefix = prefix
        self.redis = redis
        self.nodes = nodes
        self.minter = minter
        self.directory = directory
    }

    /// Starts Redis and the three nodes, runs `body`, and kills everything afterwards, also when `body` throws.
    /// `connections` is the nodes' `connections:` block.
    /// With `redisFirst: false` the nodes start while Redis is not running yet (the test starts it).
    static func with(connections: String = "", redisFirst: Bool = true, _ body: (Cluster) async throws -> Void)
        async throws
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "godispatch-cluster-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let plugins = try makePluginDirectory(bundledPlugins)
        let secret = TokenMinter.randomSecret()
        let apiKey = "cluster-test-key-\(UUID().uuidString)"
        let prefix = "gdt\(UInt32.random(in: 0...UInt32.max))"
        let redis = redisFirst ? try await RedisServer.start() : try RedisServer.unstarted()
        var started: [ClusterNode] = []
        do {
            // The three start side by side; each retries on fresh ports by itself.
            let results = await withTaskGroup(of: (Int, Result<ClusterNode, any Error>).self) { group in
                for (index, name) in ["n1", "n2", "n3"].enumerated() {
                    group.addTask {
                        do {
                            let node = try await ClusterNode.start(
                                name: name, directory: directory, plugins: plugins, apiKey: apiKey, secret: secret,
                                redisURL: redis.url, prefix: prefix, connections: connections,
                                expectReady: redisFirst)
                            return (index, .success(node))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                var results: [(Int, Result<ClusterNode, any Error>)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }.map(\.1)
            }
            started = results.compactMap { try? $0.get() }
            for result in results { _ = try result.get() }
        } catch {
            started.forEach { $0.kill() }
            await redis.stop()
            try? FileManager.default.removeItem(atPath: plugins)
            throw error
        }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let cluster = Cluster(redis: redis, nodes: started, minter: keys, directory: directory, prefix: prefix)
        do {
            try await body(cluster)
        } catch {
            await cluster.stop()
            try? FileManager.default.removeItem(atPath: plugins)
            throw ClusterFailure(description: "\(error)\n\(cluster.logTails())\n(logs kept in \(directory))")
        }
        await cluster.stop()
        try? FileManager.default.removeItem(atPath: plugins)
        // Logs are kept when an expectation failed (Swift Testing does not tell the body), under GODISPATCH_KEEP_LOGS.
        if ProcessInfo.processInfo.environment["GODISPATCH_KEEP_LOGS"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Kills the nodes and stops Redis.
    func stop() async {
        nodes.forEach { $0.kill() }
        await redis.stop()
    }

    /// The end of every node's log, for failure messages.
    func logTails(_ lines: Int = 15) -> String { nodes.map { $0.logTail(lines) }.joined(separator: "\n") }

    /// A token for `user` holding `perms`.
    func token(_ user: String, perms: [String] = ["chat"]) async throws -> String {
        try await minter.sign(
            ClusterClaims(
                sub: SubjectClaim(value: user), exp: ExpirationClaim(value: Date().addingTimeInterval(3600)),
                perms: perms))
    }

    /// Connects `user` to `node`.
    func connect(_ user: String, to node: ClusterNode, perms: [String] = ["chat"]) async throws -> ClusterClient {
        let socket = try await WebSocketClient.connect(
            host: "127.0.0.1", port: node.port, path: "/ws",
            headers: [("Authorization", "Bearer \(try await token(user, perms: perms))")])
        return ClusterClient(user: user, node: node.name, socket: socket)
    }

    /// Tries to connect `user` to `node`: the client, or the HTTP status it was refused with.
    func attempt(_ user: String, to node: ClusterNode, perms: [String] = ["chat"]) async throws -> Attempt {
        do {
            return .success(try await connect(user, to: node, perms: perms))
        } catch WebSocketClientError.rejected(let status, let body) {
            return .failure(Refusal(status: status, body: body))
        }
    }

    /// Connects `user` to each of `targets` at the same instant (the tokens are signed first): every attempt's
    /// outcome, in the order they ended (nil: it failed otherwise than by a refusal).
    func connectAtOnce(_ user: String, to targets: [ClusterNode]) async throws -> [Attempt?] {
        let tokens = try await targets.asyncMap { _ in try await token(user) }
        return await withTaskGroup(of: Attempt?.self) { group in
            for (node, token) in zip(targets, tokens) {
                group.addTask {
                    do {
                        let socket = try await WebSocketClient.connect(
                            host: "127.0.0.1", port: node.port, path: "/ws",
                            headers: [("Authorization", "Bearer \(token)")])
                        return .success(ClusterClient(user: user, node: node.name, socket: socket))
                    } catch WebSocketClientError.rejected(let status, let body) {
                        return .failure(Refusal(status: status, body: body))
                    } catch {
                        return nil
                    }
                }
            }
            var outcomes: [Attempt?] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    /// Tries to connect `user` to `node` until it is accepted or `timeout` passes (a slot freed elsewhere is
    /// given back asynchronously): the client, and the refusals before it.
    func connectOnceAdmitted(_ user: String, to node: ClusterNode, timeout: Duration) async throws
        -> (client: ClusterClient?, refusals: [Refusal])
    {
        let deadline = ContinuousClock.now + timeout
        var refusals: [Refusal] = []
        while ContinuousClock.now < deadline {
            switch try await attempt(user, to: node) {
            case .success(let client): return (client, refusals)
            case .failure(let refusal):
                refusals.append(refusal)
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return (nil, refusals)
    }

    /// Polls `check` until it holds, or `timeout` passes (for HTTP endpoints, which push nothing).
    func poll(timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(50), _ check: () async -> Bool)
        async
        -> Bool
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await check() { return true }
            try? await Task.sleep(for: interval)
        }
        return await check()
    }
}

/// A connection attempt: the client, or the server's refusal.
typealias Attempt = Result<ClusterClient, Refusal>

/// An upgrade the server refused: status and body.
struct Refusal: Error, Equatable, CustomStringConvertible {
    let status: Int
    let body: String

    var description: String { "\(status) \(body)" }
}

extension Result {
    /// The success value, or nil.
    var success: Success? { if case .success(let value) = self { value } else { nil } }
    /// The failure, or nil.
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}

extension Sequence {
    /// `map` with an async transform, in order.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
