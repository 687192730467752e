import CGoDispatchABI
import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// The promises the plugin ABI writes down, checked from a plugin's side (the `FixtureContract` C
/// plugin, built with the 1.0 struct sizes).
@Suite("Plugin ABI contract")
struct ABIContractTests {
    static let events = """
          keep:
            pipeline:
              - action: contract_keep_call
          use_kept:
            pipeline:
              - action: contract_use_kept
          other_thread:
            pipeline:
              - action: contract_other_thread
                params: { a: 1 }
          raw:
            pipeline:
              - action: contract_send_raw
                params: { json: "{{payload.json}}", code: "{{payload.code}}" }
          report:
            pipeline:
              - action: contract_report

        """

    func harness(_ extra: String = "") throws -> EngineHarness {
        try EngineHarness(events: Self.events + extra, plugins: bundledPlugins + ["FixtureContract"])
    }

    /// The payload of the next frame, which must be `event` (the frames a connection gets keep their order).
    func payload(of event: String, from client: TestTransport) async throws -> JSONValue {
        let frame = try #require(await client.nextFrame(), "no `\(event)` frame")
        #expect(frame["event"] == .string(event), "expected `\(event)`, got \(frame.jsonText)")
        return frame["payload"] ?? .null
    }

    /// The fixture's counters, asked for through `connection`.
    func counters(_ h: EngineHarness, _ connection: Connection, _ client: TestTransport) async throws -> [String: Int] {
        h.send(#"{"event":"report"}"#, from: connection)
        guard case .object(let members) = try await payload(of: "report", from: client) else { return [:] }
        return Dictionary(uniqueKeysWithValues: members.compactMap { key, value in
            if case .number(let n) = value, let count = Int(n) { return (key, count) }
            return nil
        })
    }

    @Test func aCallHandleKeptPastItsInvokeIsStaleAndActsOnNobody() async throws {
        let h = try harness()
        let (alice, aliceClient) = h.connect("alice")
        let (bob, bobClient) = h.connect("bob")
        h.send(#"{"event":"keep"}"#, from: alice)
        await h.onExecutor(of: alice)
        // Bob's invocations may reuse the memory or the slot of Alice's: the kept handle must stay dead.
        for _ in 0..<3 {
            h.send(#"{"event":"use_kept"}"#, from: bob)
            let report = try await payload(of: "stale", from: bobClient)  // not "via_stale" first
            #expect(report["send"] == .number("\(GD_ERR_STALE.rawValue)"), "\(report.jsonText)")
            #expect(report["join"] == .number("\(GD_ERR_STALE.rawValue)"), "\(report.jsonText)")
        }
        #expect(h.engine.state.members(ofRoom: "stale-room").isEmpty)
        _ = try await counters(h, alice, aliceClient)  // Alice's next frame is the report, not "via_stale"
    }

    @Test func aLiveHandleUsedFromAnotherThreadIsStale() async throws {
        let h = try harness()
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"other_thread"}"#, from: alice)
        let report = try await payload(of: "other_thread", from: client)  // not "via_other_thread" first
        #expect(report["send"] == .number("\(GD_ERR_STALE.rawValue)"), "\(report.jsonText)")
        #expect(report["params"] == .number("0"), "a stale handle reads no params")
    }

    @Test func sendsRefuseAPayloadThatIsNotOneJSONValue() async throws {
        let h = try harness()
        let (alice, client) = h.connect("alice")
        for bad in [#"{\"a\":"#, #"1 2"#, #"{\"a\":1}}"#, "", #"[1,]"#] {
            h.send(#"{"event":"raw","payload":{"json":"\#(bad)","code":4000}}"#, from: alice)
            let report = try await payload(of: "raw_report", from: client)  // no "raw" frame before it
            #expect(report["send"] == .number("\(GD_ERR_INVALID.rawValue)"), "\(bad): \(report.jsonText)")
        }
        h.send(#"{"event":"raw","payload":{"json":"{\"ok\":[1,2]}","code":4000}}"#, from: alice)
        let sent = try await payload(of: "raw", from: client)
        #expect(sent == .object([("ok", .array([.number("1"), .number("2")]))]))
    }

    @Test(arguments: [
        (UInt16(1001), false), (1005, false), (1006, false), (1011, false), (3000, false), (5000, false),
        (1000, true), (1008, true), (4000, true), (4999, true),
    ])
    func disconnectAcceptsOnlyTheCodesActionsMayUse(code: UInt16, allowed: Bool) async throws {
        let h = try harness()
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"raw","payload":{"json":"1","code":\#(code)}}"#, from: alice)
        _ = try await payload(of: "raw", from: client)
        let report = try await payload(of: "raw_report", from: client)
        #expect(report["disconnect"] == .number(allowed ? "1" : "\(GD_ERR_INVALID.rawValue)"), "\(code): \(report.jsonText)")
        // disconnect() closes synchronously, before the report is sent: what is there now is all there is.
        #expect(client.closes.pending.map(\.code) == (allowed ? [code] : []))
    }

    @Test func aStepStateOutlivesItsOutstandingCompletionAcrossAReload() async throws {
        let slow = """
              slow:
                pipeline:
                  - action: contract_slow
                    params: { delay_ms: 400 }
                    timeout: 50ms

            """
        let h = try harness(slow)
        let (alice, client) = h.connect("alice")
        let before = try await counters(h, alice, client)
        h.send(#"{"event":"slow","id":1}"#, from: alice)
        let failure = try #require(await client.nextFrame())
        #expect(failure.errorCode == "action_failed", "the step timed out: \(failure.jsonText)")
        #expect(PendingCompletions.shared.outstandingCount >= 1, "the timed-out ticket is still outstanding")
        // Drop the configuration holding the step while its completion is still outstanding.
        _ = try h.engine.reload(try parseConfig(configHead + "\nevents:\n" + Self.events))
        var after = try await counters(h, alice, client)
        // The plugin completes after 400 ms; only then may the host release the step state.
        let deadline = ContinuousClock.now + .seconds(30)
        while after["releases"] == before["releases"], ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            after = try await counters(h, alice, client)
        }
        #expect(after["releases"] == (before["releases"] ?? 0) + 1)
        #expect(after["early_releases"] == before["early_releases"], "release() ran while a completion was outstanding")
    }

    @Test func eachLibraryIsEnteredOncePerProcessAcrossEnginesAndReloads() async throws {
        let first = try harness()
        let second = try harness()
        _ = try second.engine.reload(try parseConfig(configHead + "\nevents:\n" + Self.events))
        let (alice, client) = second.connect("alice")
        second.send(#"{"event":"report"}"#, from: alice)
        let report = try await payload(of: "report", from: client)
        #expect(report["entries"] == .number("1"), "\(report.jsonText)")
        _ = first
    }

    @Test func aPluginWithThe1_0StructSizesLoads() throws {
        var host = PluginHost()
        let errors = host.loadDirectory(try makePluginDirectory(["FixtureContract"]))
        #expect(errors.isEmpty, "\(errors)")
        #expect(host.plugins.first?.abiVersion == "1.0")
        #expect(Int(GD_MESSAGE_SIZE_1_0) <= MemoryLayout<gd_message>.size)
        #expect(host.registry.names.count == 8)
    }
}
