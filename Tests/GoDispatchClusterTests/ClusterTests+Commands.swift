import Foundation
import GoDispatchClient
import GoDispatchCore
import GoDispatchRedis
import Testing

/// Commands on a user wherever it is connected: permissions, disconnects, joins and leaves, notifications.
extension ClusterTests {
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
}
