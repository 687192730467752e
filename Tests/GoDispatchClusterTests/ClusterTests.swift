import Foundation
import GoDispatchClient
import GoDispatchCore
import GoDispatchRedis
import Testing

/// Issue 14: three real nodes (`godispatch serve` with `broker: redis`, heartbeat 200 ms) sharing one real
/// `redis-server`, real WebSocket clients on each, the API over HTTP. Every test starts its own Redis (a free
/// port, no persistence) and nodes (each with a config file of its own, see ``ClusterNode/config``) and kills
/// them at the end, also on failure. The tests run one at a time (each is a few hundred milliseconds when the
/// cluster behaves), beside the other suites.
///
/// `swift test --filter GoDispatchClusterTests`; with `GODISPATCH_KEEP_LOGS=1` the nodes' configs and logs
/// stay in `$TMPDIR/godispatch-cluster-*` (a test that throws names its folder and shows the logs' ends).
@Suite("Three nodes on Redis", .serialized, .timeLimit(.minutes(2)))
struct ClusterTests {
    /// The `say` frames a client has received: (publisher, number) in arrival order.
    static func said(_ client: ClusterClient) -> [String] {
        client.inbox.frames.filter { $0.string("event") == "said" }.compactMap { frame in
            guard let payload = frame["payload"], let publisher = payload.string("p"), let number = payload.int("n")
            else {
                return nil
            }
            return "\(publisher)#\(number)"
        }
    }

    /// Whether a frame is a `said` frame (of `publisher`, if given).
    static func isSaid(_ frame: JSONValue, publisher: String? = nil) -> Bool {
        frame.string("event") == "said" && (publisher == nil || frame["payload"]?.string("p") == publisher)
    }

    @Test("three nodes with broker: redis start and answer /ready")
    func clusterStarts() async throws {
        try await Cluster.with { cluster in
            for node in cluster.nodes {
                #expect(await node.readyStatus() == 200, "\(node.logTail())")
                let answer = try await node.api("info")
                #expect(answer.status == 200)
            }
        }
    }

    @Test("1. a room with members on three nodes: two publishers, 400 frames, one order everywhere")
    func fanOutAndOrder() async throws {
        try await Cluster.with { cluster in
            let room = "R"
            var members: [ClusterClient] = []
            for (index, node) in [cluster.n1, cluster.n1, cluster.n2, cluster.n3, cluster.n3].enumerated() {
                members.append(try await cluster.connect("member\(index)", to: node))
            }
            let p1 = try await cluster.connect("p1", to: cluster.n1)
            let p2 = try await cluster.connect("p2", to: cluster.n2)
            let everyone = members + [p1, p2]
            for client in everyone {
                #expect(try await client.join(room), "\(client.user) on \(client.node) could not join")
            }
            let perPublisher = 200
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (publisher, name) in [(p1, "p1"), (p2, "p2")] {
                    group.addTask {
                        let texts = (0..<perPublisher).map {
                            ClusterClient.envelope("say", target: room, payload: "{\"p\":\"\(name)\",\"n\":\($0)}")
                        }
                        try await publisher.socket.send(texts: texts)
                    }
                }
                try await group.waitForAll()
            }
            let deadline = Deadline(.seconds(30))
            for client in everyone {
                let all = await client.inbox.waitUntil(count: 2 * perPublisher, timeout: deadline.remaining) {
                    Self.isSaid($0)
                }
                let errors = client.inbox.frames.filter { $0.errorCode != nil }.prefix(3).map(\.jsonText)
                let got = Self.said(client).count
                #expect(
                    all, "\(client.user) on \(client.node) got \(got) of \(2 * perPublisher) frames; errors: \(errors)")
            }
            let reference = Self.said(members[0])
            let expected = Set((0..<perPublisher).flatMap { ["p1#\($0)", "p2#\($0)"] })
            let complete = Set(reference) == expected && reference.count == expected.count
            #expect(
                complete,
                "member0 on n1 got \(reference.count) frames, \(Set(reference).count) distinct, of \(expected.count)")
            // Each publisher's frames in the order it sent them.
            for name in ["p1", "p2"] {
                let own = reference.filter { $0.hasPrefix("\(name)#") }
                let inOrder = own == (0..<own.count).map { "\(name)#\($0)" }
                #expect(inOrder, "member0 on n1 got \(name)'s frames out of order: \(own.prefix(10))…")
            }
            for client in everyone.dropFirst() {
                let sequence = Self.said(client)
                let same = sequence == reference
                let firstDifference = zip(reference, sequence).enumerated().first { $0.element.0 != $0.element.1 }
                let place =
                    firstDifference.map { "index \($0.offset): \($0.element.1) vs \($0.element.0)" }
                    ?? "length \(sequence.count) vs \(reference.count)"
                #expect(same, "\(client.user) on \(client.node) differs from member0 on n1 at \(place)")
            }
        }
    }

    static let rejectLimit = "connections: { per_user_limit: 2, strategy: reject }"
    static let cycleLimit = "connections: { per_user_limit: 2, strategy: cycle }"

    @Test("6. info lists every node; a node killed with -9 leaves the list within 3 heartbeats and some slack")
    func infoListsNodes() async throws {
        try await Cluster.with { cluster in
            var lists: [String: [String]] = [:]
            let all = await cluster.poll {
                for node in cluster.nodes { lists[node.name] = await node.infoNodeNames() ?? [] }
                return lists.values.allSatisfy { Set($0) == ["n1", "n2", "n3"] }
            }
            #expect(all, "info lists: \(lists.sorted { $0.key < $1.key })")
            cluster.n2.kill()
            let killed = ContinuousClock.now
            let gone = await cluster.poll(timeout: .seconds(10)) {
                for node in [cluster.n1, cluster.n3] { lists[node.name] = await node.infoNodeNames() ?? [] }
                return [lists["n1"], lists["n3"]].allSatisfy { Set($0 ?? []) == ["n1", "n3"] }
            }
            let elapsed = ContinuousClock.now - killed
            #expect(gone, "10 s after kill -9 of n2: n1 lists \(lists["n1"] ?? []), n3 lists \(lists["n3"] ?? [])")
            // Three heartbeats of 200 ms, plus slack for a busy machine.
            #expect(elapsed < .seconds(3), "n2 left the list \(elapsed) after kill -9")
        }
    }

    @Test("7. CLIENT KILL TYPE pubsub: the nodes subscribe again and nothing sent afterwards is lost")
    func pubSubKilled() async throws {
        try await Cluster.with { cluster in
            let room = "R"
            let sender = try await cluster.connect("sender", to: cluster.n1)
            let member = try await cluster.connect("member", to: cluster.n2)
            #expect(try await sender.join(room))
            #expect(try await member.join(room))
            try await sender.send("say", target: room, payload: "{\"p\":\"before\",\"n\":0}")
            try #require(await member.next("said") != nil, "cross-node delivery does not work before the kill")
            let killed = try await cluster.redis.command(["CLIENT", "KILL", "TYPE", "pubsub"])
            #expect(
                (killed.int ?? 0) >= 3,
                "CLIENT KILL TYPE pubsub killed \(killed) connections; each node should hold one")
            // Probe until a frame from n1 reaches n2 again.
            var probe = 0
            let back = await cluster.poll(timeout: .seconds(20), every: .milliseconds(1)) {
                probe += 1
                try? await sender.send("say", target: room, payload: "{\"p\":\"probe\",\"n\":\(probe)}")
                return await member.inbox.next(timeout: .milliseconds(200)) { $0["payload"]?.string("p") == "probe" }
                    != nil
            }
            #expect(back, "no probe from n1 reached n2 within 20 s of CLIENT KILL TYPE pubsub (\(probe) sent)")
            guard back else { return }
            let texts = (0..<100).map {
                ClusterClient.envelope("say", target: room, payload: "{\"p\":\"after\",\"n\":\($0)}")
            }
            try await sender.socket.send(texts: texts)
            let all = await member.inbox.waitUntil(count: 100) { Self.isSaid($0, publisher: "after") }
            let got = member.inbox.count { Self.isSaid($0, publisher: "after") }
            #expect(all, "n2's member got \(got) of 100 frames sent after the re-subscription")
            let numbers = member.inbox.frames.filter { $0["payload"]?.string("p") == "after" }.compactMap {
                $0["payload"]?.int("n")
            }
            #expect(numbers == Array(0..<100))
            // The user channels are back too: a command from n1 reaches the member's connection on n2.
            let notified = try await cluster.n1.api("notify_user", #"{"user":"member","event":"direct","payload":{}}"#)
            #expect(
                notified.json?["result"]?.int("delivered") == 1,
                "notify_user answered \(notified.json?.jsonText ?? "-")")
            #expect(await member.next("direct") != nil)
        }
    }

    @Test("8. Redis stopped: /ready 503, local delivery goes on, the sender hears of it; Redis back: all resumes")
    func redisStoppedAndStarted() async throws {
        try await Cluster.with { cluster in
            let room = "R"
            let sender = try await cluster.connect("sender", to: cluster.n1)
            let local = try await cluster.connect("local", to: cluster.n1)
            let remote = try await cluster.connect("remote", to: cluster.n2)
            for client in [sender, local, remote] { #expect(try await client.join(room)) }
            try await sender.send("say", target: room, payload: "{\"p\":\"up\",\"n\":0}")
            try #require(await remote.next("said") != nil, "cross-node delivery does not work before Redis stops")
            #expect(await local.next("said") != nil)

            await cluster.redis.stop()
            var statuses: [String: Int?] = [:]
            let down = await cluster.poll {
                for node in cluster.nodes { statuses[node.name] = await node.readyStatus() }
                return statuses.values.allSatisfy { $0 == 503 }
            }
            #expect(down, "/ready with Redis stopped: \(statuses.sorted { $0.key < $1.key })")

            let id = "while-down"
            try await sender.send("say", target: room, payload: "{\"p\":\"down\",\"n\":1}", id: id)
            let localFrame = await local.inbox.next { $0["payload"]?.string("p") == "down" }
            #expect(localFrame != nil, "the member on the sender's own node did not get the frame while Redis was down")
            let answer = await sender.reply(to: id)
            #expect(
                answer?.errorCode == "action_failed",
                "the sender got \(answer?.jsonText ?? "nothing") while Redis was down")
            let message = answer?["payload"]?.string("message") ?? ""
            #expect(
                message.lowercased().contains("node"), "the error should say other nodes were not reached: \(message)")
            // docs/SCALING.md: upgrades are refused with 503, and API calls that need the cluster answer error 100.
            switch try await cluster.attempt("newcomer", to: cluster.n2) {
            case .success(let client):
                Issue.record("n2 accepted a WebSocket upgrade while Redis was down")
                await client.close()
            case .failure(let refusal):
                #expect(refusal.status == 503, "an upgrade while Redis was down: \(refusal.status) \(refusal.body)")
            }
            let publish = try await cluster.n3.api("publish", "{\"room\":\"R\",\"event\":\"news\",\"payload\":{}}")
            #expect(
                publish.json?["error"]?.int("code") == 100
                    && publish.json?["error"]?.string("reason") == "broker_unavailable",
                "the API's publish while Redis was down answered \(publish.status) \(publish.json?.jsonText ?? "-")")

            try await cluster.redis.start()
            let up = await cluster.poll {
                for node in cluster.nodes { statuses[node.name] = await node.readyStatus() }
                return statuses.values.allSatisfy { $0 == 200 }
            }
            #expect(up, "/ready after Redis came back: \(statuses.sorted { $0.key < $1.key })")
            try await sender.send("say", target: room, payload: "{\"p\":\"again\",\"n\":2}")
            let again = await remote.inbox.next { $0["payload"]?.string("p") == "again" }
            #expect(again != nil, "n2's member got nothing from n1 after Redis came back and /ready said 200")
            let notified = try await cluster.n3.api("notify_user", #"{"user":"remote","event":"direct","payload":{}}"#)
            #expect(
                notified.json?["result"]?.int("delivered") == 1,
                "notify_user answered \(notified.json?.jsonText ?? "-")")
            #expect(await remote.next("direct") != nil, "n2's member got no notify_user from n3 after Redis came back")
        }
    }

    @Test("9. API publish on n3 reaches members on n1 and n2")
    func apiPublishAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let room = "R"
            let onN1 = try await cluster.connect("a", to: cluster.n1)
            let onN2 = try await cluster.connect("b", to: cluster.n2)
            for client in [onN1, onN2] { #expect(try await client.join(room)) }
            let answer = try await cluster.n3.api(
                "publish", "{\"room\":\"R\",\"event\":\"news\",\"payload\":{\"k\":1}}")
            #expect(
                answer.status == 200 && answer.json?["result"] != nil,
                "publish answered \(answer.json?.jsonText ?? "nothing")")
            let deadline = Deadline(.seconds(20))
            for client in [onN1, onN2] {
                let frame = await client.next("news", timeout: deadline.remaining)
                #expect(
                    frame?["payload"]?.int("k") == 1,
                    "\(client.user) on \(client.node) got \(frame?.jsonText ?? "nothing")")
                #expect(frame?["from"] == nil)
            }
        }
    }

    @Test("10. a node subscribes to a room's channel only while it has members there")
    func subscriptionsFollowMembership() async throws {
        try await Cluster.with { cluster in
            let room = "Rsub"
            // The room's channels (whatever the broker calls them, they carry the prefix and the `{room}` tag)
            // and how many subscribers they have in all.
            let subscribers: @Sendable () async -> Int? = {
                guard
                    let names = try? await cluster.redis.command(["PUBSUB", "CHANNELS", "\(cluster.prefix)*{\(room)}*"])
                        .array?
                        .compactMap(\.string)
                else { return nil }
                guard !names.isEmpty else { return 0 }
                guard let counts = try? await cluster.redis.command(["PUBSUB", "NUMSUB"] + names).array else {
                    return nil
                }
                return stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + Int(counts[$1].int ?? 0) }
            }
            #expect(await subscribers() == 0)
            let a = try await cluster.connect("a", to: cluster.n1)
            let b = try await cluster.connect("b", to: cluster.n2)
            let a2 = try await cluster.connect("a2", to: cluster.n1)
            #expect(try await a.join(room))
            #expect(await subscribers() == 1, "one node has members: n1")
            #expect(try await a2.join(room))
            #expect(await subscribers() == 1, "still one node with members: n1 (two members)")
            #expect(try await b.join(room))
            #expect(await subscribers() == 2, "two nodes have members: n1 and n2")
            #expect(try await a.request("leave", target: room)?.string("event") == "left")
            #expect(await subscribers() == 2, "n1 still has a2")
            // Unsubscribing may follow the leave; Redis is polled.
            #expect(try await a2.request("leave", target: room)?.string("event") == "left")
            var seen: Int?
            #expect(
                await cluster.poll(timeout: .seconds(5)) {
                    seen = await subscribers()
                    return seen == 1
                }, "n1 has no member left; subscribers: \(seen.map(String.init) ?? "?")")
            await b.close()
            #expect(
                await cluster.poll(timeout: .seconds(5)) {
                    seen = await subscribers()
                    return seen == 0
                }, "no node has members; subscribers: \(seen.map(String.init) ?? "?")")
        }
    }

    @Test("13. an API publish retried on another node with the same idempotency key sends nothing")
    func idempotencyAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let member = try await cluster.connect("m", to: cluster.n3)
            #expect(try await member.join("I"))
            let first = try await cluster.n1.api(
                "publish", "{\"room\":\"I\",\"event\":\"news\",\"payload\":{\"n\":1},\"idempotency_key\":\"k1\"}")
            #expect(first.json?["result"] != nil, "the first publish answered \(first.json?.jsonText ?? "nothing")")
            let retry = try await cluster.n2.api(
                "publish", "{\"room\":\"I\",\"event\":\"news\",\"payload\":{\"n\":2},\"idempotency_key\":\"k1\"}")
            #expect(
                retry.json == first.json,
                "the retry on n2 answered \(retry.json?.jsonText ?? "-"), the first \(first.json?.jsonText ?? "-")")
            let next = try await cluster.n2.api("publish", "{\"room\":\"I\",\"event\":\"news\",\"payload\":{\"n\":3}}")
            #expect(next.json?["result"] != nil)
            // One order per room: the retry, had it been sent, would come before n = 3.
            #expect(await member.inbox.next { $0["payload"]?.int("n") == 3 } != nil)
            let numbers = member.inbox.frames.filter { $0.string("event") == "news" }.compactMap {
                $0["payload"]?.int("n")
            }
            #expect(numbers == [1, 3], "the member on n3 got \(numbers)")
        }
    }

    @Test("14. nodes started before Redis answer /ready 503 and refuse upgrades with 503, then serve once it is up")
    func nodesBeforeRedis() async throws {
        try await Cluster.with(redisFirst: false) { cluster in
            var statuses: [String: Int?] = [:]
            for node in cluster.nodes { statuses[node.name] = await node.readyStatus() }
            #expect(
                statuses.values.allSatisfy { $0 == 503 }, "/ready without Redis: \(statuses.sorted { $0.key < $1.key })"
            )
            switch try await cluster.attempt("early", to: cluster.n1) {
            case .success(let client):
                Issue.record("n1 accepted a WebSocket upgrade before Redis was up")
                await client.close()
            case .failure(let refusal):
                #expect(refusal.status == 503, "an upgrade before Redis was up: \(refusal)")
            }
            try await cluster.redis.start()
            let up = await cluster.poll {
                for node in cluster.nodes { statuses[node.name] = await node.readyStatus() }
                return statuses.values.allSatisfy { $0 == 200 }
            }
            #expect(up, "/ready once Redis is up: \(statuses.sorted { $0.key < $1.key })")
            let a = try await cluster.connect("a", to: cluster.n1)
            let b = try await cluster.connect("b", to: cluster.n3)
            for client in [a, b] { #expect(try await client.join("R")) }
            try await a.send("say", target: "R", payload: #"{"p":"a","n":0}"#)
            #expect(await b.next("said") != nil, "n3's member got nothing from n1")
            var names: [String] = []
            #expect(
                await cluster.poll {
                    names = await cluster.n2.infoNodeNames() ?? []
                    return Set(names) == ["n1", "n2", "n3"]
                },
                "info on n2 lists \(names)")
        }
    }
}

/// One deadline shared by several waits, so a phase that fails costs its timeout once.
struct Deadline {
    let end: ContinuousClock.Instant

    init(_ duration: Duration) { end = .now + duration }

    /// The time left (zero once passed).
    var remaining: Duration { max(.zero, end - .now) }
}
