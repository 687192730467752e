import Foundation
import GoDispatchClient
import GoDispatchCore
import GoDispatchRedis
import Testing

/// Per-user connection limits counted over every node: `reject` and `cycle`, simultaneous connects, a killed node's slots.
extension ClusterTests {
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
}
