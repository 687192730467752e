import GoDispatchCore
import NIOHTTP1
import Testing

@Suite("The /admin dashboard on the API listener")
struct AdminDashboardTests {
    @Test func thePageIsServedWithoutDataAndLocksItsFramesAndScripts() async throws {
        try await APIHarness.with { h in
            let page = try await h.request(.GET, "/admin")
            #expect(page.status == 200)
            #expect(page.text.contains("<title>GoDispatch · dashboard</title>"))
            #expect(page.text.contains("/admin/overview") && page.text.contains("/admin/metrics"))
            #expect(!page.text.contains(APIHarness.key), "the page holds no secret")
            #expect(!page.text.contains("http://") && !page.text.contains("https://"), "no CDN: everything is inline")
        }
    }

    @Test func theDataNeedsAnAPIKey() async throws {
        try await APIHarness.with { h in
            for path in ["/admin/overview", "/admin/metrics"] {
                let missing = try await h.request(.GET, path)
                #expect(missing.status == 401, "\(path) without a key")
                let wrong = try await h.request(.GET, path, headers: [("X-API-Key", "wrong-key-0123456789abcdef")])
                #expect(wrong.status == 401, "\(path) with a wrong key")
            }
        }
    }

    @Test func theOverviewListsStateRoomsPluginsEventsAndNodes() async throws {
        try await APIHarness.with { h in
            let alice = try await h.ws.connect("alice")
            let bob = try await h.ws.connect("bob")
            for (client, rooms) in [(alice, ["big", "small"]), (bob, ["big"])] {
                for room in rooms {
                    try await client.send(#"{"event":"room.join","target":"\#(room)"}"#)
                    _ = await client.nextJSON()
                }
            }
            let answer = try await h.request(.GET, "/admin/overview", headers: [("X-API-Key", APIHarness.otherKey)])
            #expect(answer.status == 200)
            let overview = try #require(answer.json)
            #expect(overview["connections"] == .number("2"))
            #expect(overview["users"] == .number("2"))
            #expect(
                overview["largest_rooms"]
                    == .array([
                        .object([("room", .string("big")), ("members", .number("2"))]),
                        .object([("room", .string("small")), ("members", .number("1"))]),
                    ]))
            guard case .array(let plugins)? = overview["plugins"] else {
                Issue.record("no plugins in \(answer.text)")
                return
            }
            let actions = plugins.flatMap { plugin -> [JSONValue] in
                guard case .array(let list)? = plugin["actions"] else { return [] }
                return list.compactMap { $0["name"] }
            }
            #expect(actions.contains(.string("_notify_room")) && actions.contains(.string("_join")))
            guard case .array(let events)? = overview["events"] else {
                Issue.record("no events in \(answer.text)")
                return
            }
            #expect(events.contains(.string("room.join")))
            guard case .array(let nodes)? = overview["nodes"], let node = nodes.first else {
                Issue.record("no nodes in \(answer.text)")
                return
            }
            #expect(node["num_clients"] == .number("2"))
        }
    }

    @Test func theMetricsAreServedToTheDashboardWhereverMetricsListen() async throws {
        let exposition: @Sendable () -> [UInt8] = { Array("# TYPE godispatch_connections gauge\ngodispatch_connections 3\n".utf8) }
        let h = try await APIHarness(metrics: exposition)
        let answer = try await h.request(.GET, "/admin/metrics", headers: [("X-API-Key", APIHarness.key)])
        #expect(answer.status == 200)
        #expect(answer.text.contains("godispatch_connections 3"))
        await h.stop()
    }
}
