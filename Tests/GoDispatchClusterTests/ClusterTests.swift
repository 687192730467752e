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

    @Test("2. per-user limit 2, reject: the third connection, on another node, gets 429; a freed slot is taken again")
    func perUserLimitReject() async throws {
        try await Cluster.with(connections: Self.rejectLimit) { cluster in
            let first = try await cluster.connect("u", to: cluster.n1)
            let second = try await cluster.connect("u", to: cluster.n2)
            let third = try await cluster.attempt("u", to: cluster.n3)
            switch third {
            case .success(let client):
                Issue.record("a third connection of u was accepted on n3 with limit 2 (u has n1 and n2)")
                await client.close()
            case .failure(let refusal):
                #expect(refusal.status == 429, "refused with \(refusal.status) \(refusal.body)")
            }
            // The first closes; the node frees its slot once it has seen the close (asynchronously, so the
            // next attempt is retried within a deadline).
            await first.close()
            let (accepted, refusals) = try await cluster.connectOnceAdmitted("u", to: cluster.n3, timeout: .seconds(5))
            #expect(
                accepted != nil,
                "n3 still refuses u 5 s after n1's connection closed: \(refusals.last.map(\.description) ?? "")")
            #expect(
                try await second.request("ping")?.string("event") == "pong", "n2's connection of u should still be open"
            )
            if let accepted {
                #expect(try await accepted.request("ping")?.string("event") == "pong")
                await accepted.close()
            }
            await second.close()
        }
    }

    @Test(
        "2b. per-user limit 2, reject: six simultaneous connects over three nodes, exactly two accepted (three rounds)")
    func perUserLimitRejectSimultaneous() async throws {
        try await Cluster.with(connections: Self.rejectLimit) { cluster in
            for round in 0..<3 {
                let user = "burst\(round)"
                let targets = [cluster.n1, cluster.n2, cluster.n3, cluster.n1, cluster.n2, cluster.n3]
                let outcomes = try await cluster.connectAtOnce(user, to: targets)
                let accepted = outcomes.compactMap { $0?.success }
                let refused = outcomes.compactMap { $0?.failure }
                let otherwise = outcomes.count - accepted.count - refused.count  // neither accepted nor refused
                #expect(
                    accepted.count == 2,
                    "round \(round): accepted on \(accepted.map(\.node)), refused \(refused), failed \(otherwise)"
                )
                #expect(
                    refused.count == 4 && refused.allSatisfy { $0.status == 429 }, "round \(round): refused \(refused)")
                // The accepted ones really are open.
                for client in accepted {
                    #expect(
                        try await client.request("ping")?.string("event") == "pong",
                        "round \(round): \(client.node)'s connection is not usable")
                }
                for client in accepted { await client.close() }
                guard accepted.count == 2 else { return }
            }
        }
    }

    @Test("2c. per-user limit 2, reject: the slots of a node killed with -9 stop counting within a few heartbeats")
    func perUserLimitSlotsOfCrashedNode() async throws {
        try await Cluster.with(connections: Self.rejectLimit) { cluster in
            let onN1 = try await cluster.connect("u", to: cluster.n1)
            _ = try await cluster.connect("u", to: cluster.n2)
            if case .success(let client) = try await cluster.attempt("u", to: cluster.n3) {
                Issue.record("a third connection of u was accepted with limit 2")
                await client.close()
            }
            cluster.n2.kill()
            let killed = ContinuousClock.now
            // docs/SCALING.md: within three heartbeats of its last one, plus one for the others to notice.
            let (accepted, refusals) = try await cluster.connectOnceAdmitted("u", to: cluster.n3, timeout: .seconds(10))
            let elapsed = ContinuousClock.now - killed
            #expect(
                accepted != nil,
                "10 s after kill -9 of n2, n3 still refuses u: \(refusals.last.map(\.description) ?? "")")
            #expect(elapsed < .seconds(3), "n2's slot stopped counting \(elapsed) after kill -9 (heartbeat 200 ms)")
            // u now holds n1 and n3: a further one is refused again.
            if let accepted {
                if case .success(let client) = try await cluster.attempt("u", to: cluster.n1) {
                    Issue.record("u got a third connection after n2's slot expired")
                    await client.close()
                }
                await accepted.close()
            }
            await onN1.close()
        }
    }

    @Test("3. per-user limit 2, cycle: a third connection on n3 closes the oldest, on n1, with 4001")
    func perUserLimitCycle() async throws {
        try await Cluster.with(connections: Self.cycleLimit) { cluster in
            let oldest = try await cluster.connect("u", to: cluster.n1)
            let middle = try await cluster.connect("u", to: cluster.n2)
            let newest = try await cluster.connect("u", to: cluster.n3)
            let code = await oldest.closeCode()
            #expect(
                code == .some(4001),
                "n1's connection: \(ClusterClient.describe(code))"
            )
            for client in [middle, newest] {
                #expect(
                    try await client.request("ping")?.string("event") == "pong",
                    "u's connection on \(client.node) should be open: \(client.inbox.events.suffix(3))")
                #expect(!client.hasEnded)
            }
            await middle.close()
            await newest.close()
        }
    }

    @Test(
        "3b. per-user limit 2, cycle: four simultaneous connects over three nodes leave exactly two open (five rounds)")
    func perUserLimitCycleSimultaneous() async throws {
        try await Cluster.with(connections: Self.cycleLimit) { cluster in
            for round in 0..<5 {
                let user = "burst\(round)"
                let targets = [cluster.n1, cluster.n2, cluster.n3, cluster.n1]
                let outcomes = try await cluster.connectAtOnce(user, to: targets)
                let clients = outcomes.compactMap { $0?.success }
                try #require(clients.count == targets.count, "with cycle every connection is accepted: \(outcomes)")
                // Two of the four are replaced (4001): wait for two ends (the two that stay open never end, so
                // the wait stops at the second end, or at the deadline).
                let (ends, ended) = AsyncStream.makeStream(of: UInt16??.self)
                for client in clients {
                    Task { ended.yield(await client.closeCode(timeout: .seconds(20))) }
                }
                var count = 0
                for await code in ends {
                    count += 1
                    if code != nil && clients.filter(\.hasEnded).count >= 2 || count == clients.count { break }
                }
                let states = clients.map { client -> String in
                    for event in client.inbox.events {
                        if case .close(let code, let reason) = event {
                            return "\(client.node): \(code.map(String.init) ?? "-") \(reason)"
                        }
                    }
                    return "\(client.node): \(client.hasEnded ? "ended without a close frame" : "open")"
                }
                let replaced = clients.filter {
                    $0.inbox.events.contains { if case .close(4001, _) = $0 { true } else { false } }
                }
                let open = clients.filter { !$0.hasEnded }
                // docs/SCALING.md names the user's sorted set of admitted connections: shown when this fails.
                let slots =
                    replaced.count == 2 && open.count == 2
                    ? nil
                    : try? await cluster.redis.command(
                        ["ZRANGE", "\(cluster.prefix):conns:{\(user)}", "0", "-1", "WITHSCORES"])
                let held = slots.map { "\($0)" } ?? "?"
                #expect(
                    replaced.count == 2 && open.count == 2,
                    "round \(round), after 20 s: \(states); \(cluster.prefix):conns:{\(user)} holds \(held)")
                for client in open {
                    #expect(
                        try await client.request("ping")?.string("event") == "pong",
                        "round \(round): \(client.node)'s connection is not usable")
                }
                for client in open { await client.close() }
                guard replaced.count == 2 && open.count == 2 else { return }
            }
        }
    }

    @Test("4. a mute on n1 holds for the user's very next message on n3")
    func livePermissionsAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let moderator = try await cluster.connect("mod", to: cluster.n1, perms: ["chat", "moderator"])
            let muted = try await cluster.connect("m", to: cluster.n3)
            #expect(try await muted.request("ping")?.string("event") == "pong", "m holds chat before the mute")
            let reply = try await moderator.request("mute", target: "m")
            #expect(reply?.string("event") == "muted", "the moderator's mute answered \(reply?.jsonText ?? "nothing")")
            // No wait: m's very next message.
            let after = try await muted.request("ping")
            #expect(
                after?.errorCode == "forbidden",
                "m's next message on n3 after the mute on n1 got \(after?.jsonText ?? "nothing")")
        }
    }

    @Test("5. API disconnect on n3 closes a user's connections on n1 and n2")
    func disconnectAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let onN1 = try await cluster.connect("d", to: cluster.n1)
            let onN2 = try await cluster.connect("d", to: cluster.n2)
            let answer = try await cluster.n3.api("disconnect", "{\"user\":\"d\",\"code\":4009,\"reason\":\"bye\"}")
            #expect(answer.status == 200)
            #expect(
                answer.json?["result"]?.int("closed") == 2, "the API answered \(answer.json?.jsonText ?? "nothing")")
            let deadline = Deadline(.seconds(20))
            for client in [onN1, onN2] {
                let code = await client.closeCode(timeout: deadline.remaining)
                #expect(
                    code == .some(4009),
                    "d on \(client.node): \(ClusterClient.describe(code))"
                )
            }
        }
    }

    @Test("5b. a client's kick on n1 closes the user's connections on n2 and n3")
    func kickAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let moderator = try await cluster.connect("mod", to: cluster.n1, perms: ["chat", "moderator"])
            let onN2 = try await cluster.connect("d", to: cluster.n2)
            let onN3 = try await cluster.connect("d", to: cluster.n3)
            let sent = ContinuousClock.now
            let reply = try await moderator.request("kick", target: "d")
            let took = ContinuousClock.now - sent
            // The step's `closed` counts this node's connections only (docs/SCALING.md), so it is not checked.
            #expect(
                reply?.string("event") == "kicked", "the kick answered \(reply?.jsonText ?? "nothing") after \(took)")
            let deadline = Deadline(.seconds(20))
            for client in [onN2, onN3] {
                let code = await client.closeCode(timeout: deadline.remaining)
                #expect(
                    code == .some(4008),
                    "d on \(client.node): \(ClusterClient.describe(code))"
                )
            }
        }
    }

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
    @Test("4b. API set_permissions on n2 holds for the user's next message on n3")
    func apiPermissionsAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let user = try await cluster.connect("m", to: cluster.n3)
            #expect(try await user.request("ping")?.string("event") == "pong")
            let removed = try await cluster.n2.api("set_permissions", "{\"user\":\"m\",\"remove\":[\"chat\"]}")
            #expect(
                removed.status == 200 && removed.json?["result"] != nil,
                "set_permissions answered \(removed.json?.jsonText ?? "nothing")")
            let after = try await user.request("ping")
            #expect(
                after?.errorCode == "forbidden",
                "m's next message on n3 after the API removed chat on n2 got \(after?.jsonText ?? "nothing")")
            let added = try await cluster.n1.api("set_permissions", "{\"user\":\"m\",\"add\":[\"chat\"]}")
            #expect(
                added.status == 200 && added.json?["result"] != nil,
                "set_permissions answered \(added.json?.jsonText ?? "nothing")")
            let again = try await user.request("ping")
            #expect(
                again?.string("event") == "pong",
                "m's next message on n3 after the API gave chat back on n1 got \(again?.jsonText ?? "nothing")")
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

    @Test("11. API join and leave on n3 act on a user's connections on n1 and n2")
    func apiJoinLeaveAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let room = "V"
            let b1 = try await cluster.connect("b", to: cluster.n1)
            let b2 = try await cluster.connect("b", to: cluster.n2)
            let joined = try await cluster.n3.api("join", "{\"user\":\"b\",\"room\":\"V\"}")
            #expect(joined.json?["result"]?.int("joined") == 2, "join answered \(joined.json?.jsonText ?? "nothing")")
            _ = try await cluster.n3.api("publish", "{\"room\":\"V\",\"event\":\"news\",\"payload\":{\"k\":\"in\"}}")
            let deadline = Deadline(.seconds(20))
            for client in [b1, b2] {
                let frame = await client.inbox.next(timeout: deadline.remaining) { $0["payload"]?.string("k") == "in" }
                #expect(frame != nil, "b on \(client.node) got nothing after the API joined it on n3")
            }
            let left = try await cluster.n3.api("leave", "{\"user\":\"b\",\"room\":\"V\"}")
            #expect(left.json?["result"]?.int("left") == 2, "leave answered \(left.json?.jsonText ?? "nothing")")
            // Markers on the same nodes: once they have the next frame, b's connections would have had it too.
            let m1 = try await cluster.connect("m1", to: cluster.n1)
            let m2 = try await cluster.connect("m2", to: cluster.n2)
            for marker in [m1, m2] { #expect(try await marker.join(room)) }
            _ = try await cluster.n3.api("publish", "{\"room\":\"V\",\"event\":\"news\",\"payload\":{\"k\":\"out\"}}")
            for marker in [m1, m2] {
                #expect(
                    await marker.inbox.next(timeout: deadline.remaining) { $0["payload"]?.string("k") == "out" } != nil)
            }
            for client in [b1, b2] {
                let late = client.inbox.frames.contains { $0["payload"]?.string("k") == "out" }
                #expect(!late, "b on \(client.node) still got the room's frames after the API's leave on n3")
            }
        }
    }

    @Test("12. notify_user from the API on n3 and _notify_user from a client on n3 reach a user on n1 and n2")
    func notifyUserAcrossNodes() async throws {
        try await Cluster.with { cluster in
            let c1 = try await cluster.connect("c", to: cluster.n1)
            let c2 = try await cluster.connect("c", to: cluster.n2)
            let api = try await cluster.n3.api(
                "notify_user", "{\"user\":\"c\",\"event\":\"direct\",\"payload\":{\"k\":\"api\"}}")
            #expect(
                api.json?["result"]?.int("delivered") == 2, "notify_user answered \(api.json?.jsonText ?? "nothing")")
            let sender = try await cluster.connect("s", to: cluster.n3)
            let sent = ContinuousClock.now
            let reply = try await sender.request("dm", target: "c", payload: "{\"k\":\"dm\"}")
            let took = ContinuousClock.now - sent
            // The step's `delivered` counts this node's connections only (docs/SCALING.md), so it is not checked.
            #expect(reply?.string("event") == "sent", "the dm answered \(reply?.jsonText ?? "nothing") after \(took)")
            let deadline = Deadline(.seconds(20))
            for client in [c1, c2] {
                for kind in ["api", "dm"] {
                    let frame = await client.inbox.next(timeout: deadline.remaining) {
                        $0["payload"]?.string("k") == kind
                    }
                    #expect(frame?.string("event") == "direct", "c on \(client.node) got no \(kind) frame")
                }
            }
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
