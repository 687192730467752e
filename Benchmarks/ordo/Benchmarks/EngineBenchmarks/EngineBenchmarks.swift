import Benchmark
import Foundation
import GoDispatchCore
import Logging

// Each benchmark drives the real engine through its public API: envelope parse, the router, compiled
// pipelines, templates, and the bundled plugins called through the C ABI (loaded from dist/plugins).

/// Runs queued work when drained: the benchmark's single "event loop".
final class ManualExecutor: ConnectionExecutor, @unchecked Sendable {
    var queue: [@Sendable () -> Void] = []
    func execute(_ work: @escaping @Sendable () -> Void) { queue.append(work) }
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork { NoWork() }
    func drain() { while !queue.isEmpty { queue.removeFirst()() } }
    struct NoWork: ScheduledWork { func cancel() {} }
}

/// Counts frames instead of sending them.
final class CountingTransport: ConnectionTransport, @unchecked Sendable {
    let executor: any ConnectionExecutor
    var frames = 0
    init(executor: ManualExecutor) { self.executor = executor }
    func send(_ frame: OutboundFrame) { frames += 1 }
    func close(code: UInt16, reason: String) {}
}

/// The engine under test, with 1000 members in room "big" and one in room "one"; rooms `hist:*` keep 100
/// frames with recovery: 1000 members in "hist:big", and "hist:r" holding 100 frames for joins to recover.
struct Fixture {
    static let plugins = ProcessInfo.processInfo.environment["GODISPATCH_PLUGINS"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("dist/plugins").path

    static let yaml = """
        auth: { jwt: { secret: bench-secret } }
        events:
          empty:
            pipeline: []
          join:
            pipeline:
              - action: _join
                params: { room: "{{target}}", since: "{{payload.since}}" }
          leave:
            pipeline:
              - action: _leave
                params: { room: "{{target}}" }
          publish:
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: message, payload: "{{payload}}", allow_non_member: true }
          templated:
            pipeline:
              - action: _notify_origin
                params: { event: t, payload: { text: "{{payload.text}}", from: "{{user.id}}", n: "{{payload.n}}" } }
        rooms:
          "hist:*": { history: { size: 100, ttl: 3600s }, recovery: true, recovery_max: 300 }
        """

    let engine: Engine
    let executor = ManualExecutor()
    let origin: Connection

    init() throws {
        var logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        let config = try ConfigLoader(environment: [:]).parse(Self.yaml, file: "bench.yaml")
        engine = try Engine(settings: config, pluginsDirectory: Self.plugins, logger: logger)
        origin = engine.state.connect(userID: "alice", permissions: [], transport: CountingTransport(executor: executor))
        engine.state.join(origin, room: "r")
        for index in 0..<1000 {
            let member = engine.state.connect(userID: "u\(index)", permissions: [], transport: CountingTransport(executor: executor))
            engine.state.join(member, room: "big")
        }
        let solo = engine.state.connect(userID: "solo", permissions: [], transport: CountingTransport(executor: executor))
        engine.state.join(solo, room: "one")
        for index in 0..<1000 {
            let member = engine.state.connect(userID: "h\(index)", permissions: [], transport: CountingTransport(executor: executor))
            engine.state.join(member, room: "hist:big")
        }
        let frame = Array(#"{"event":"publish","target":"hist:r","payload":{"ts":1,"data":"0123456789012345678901234567890123456789012345678901234567890123456789"}}"#.utf8)
        for _ in 0..<100 { route(frame) }
    }

    /// `join` of "hist:r" asking to recover every frame it holds (since offset 0 of its epoch).
    func recoveringJoin() -> [UInt8] {
        let epoch = engine.router.services.streams.stream(for: "hist:r")!.epoch
        return Array(#"{"event":"join","target":"hist:r","payload":{"since":{"offset":0,"epoch":"\#(epoch)"}}}"#.utf8)
    }

    func route(_ bytes: [UInt8]) {
        engine.router.handle(bytes, from: origin)
        executor.drain()
    }

    static func compile1000Events() throws {
        var text = "auth: { jwt: { secret: s } }\nevents:\n"
        for index in 0..<1000 {
            text += "  e\(index):\n    requires: [\"room:{{target}}:write\"]\n    pipeline:\n"
            text += "      - action: _notify_room\n        params: { room: \"{{target}}\", event: m\(index), payload: { t: \"{{payload.text}}\" } }\n"
        }
        var logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        _ = try Engine(settings: try ConfigLoader(environment: [:]).parse(text, file: "big.yaml"), pluginsDirectory: plugins, logger: logger)
    }
}

let publish = Array(#"{"event":"publish","target":"big","payload":{"ts":1732680000000000000,"data":"0123456789012345678901234567890123456789012345678901234567890123456789"}}"#.utf8)

let historyPublish = Array(#"{"event":"publish","target":"hist:big","payload":{"ts":1732680000000000000,"data":"0123456789012345678901234567890123456789012345678901234567890123456789"}}"#.utf8)

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .throughput]
    Benchmark.defaultConfiguration = .init(metrics: metrics, maxDuration: .seconds(2), maxIterations: 100_000)
    let fixture = try! Fixture()

    Benchmark("envelope parse (128 B publish)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? EnvelopeParser.parse(publish)) }
    }
    Benchmark("route, empty pipeline") { benchmark in
        let message = Array(#"{"event":"empty","target":"r"}"#.utf8)
        for _ in benchmark.scaledIterations { fixture.route(message) }
    }
    Benchmark("route + one action through the ABI (_join, member)") { benchmark in
        let message = Array(#"{"event":"join","target":"r"}"#.utf8)
        for _ in benchmark.scaledIterations { fixture.route(message) }
    }
    Benchmark("route + templated object payload (_notify_origin)") { benchmark in
        let message = Array(#"{"event":"templated","payload":{"text":"hello","n":3}}"#.utf8)
        for _ in benchmark.scaledIterations { fixture.route(message) }
    }
    Benchmark("publish pipeline, 1 member") { benchmark in
        let message = Array(#"{"event":"publish","target":"one","payload":{"ts":1,"data":"x"}}"#.utf8)
        for _ in benchmark.scaledIterations { fixture.route(message) }
    }
    Benchmark("publish pipeline + fan-out encode, 1000 members") { benchmark in
        for _ in benchmark.scaledIterations { fixture.route(publish) }
    }
    Benchmark("publish pipeline + fan-out encode, 1000 members, history") { benchmark in
        for _ in benchmark.scaledIterations { fixture.route(historyPublish) }
    }
    Benchmark("join + leave, history room, nothing to recover") { benchmark in
        let join = Array(#"{"event":"join","target":"hist:r"}"#.utf8)
        let leave = Array(#"{"event":"leave","target":"hist:r"}"#.utf8)
        for _ in benchmark.scaledIterations {
            fixture.route(join)
            fixture.route(leave)
        }
    }
    Benchmark("join + leave, history room, recovering 100 frames") { benchmark in
        let join = fixture.recoveringJoin()
        let leave = Array(#"{"event":"leave","target":"hist:r"}"#.utf8)
        for _ in benchmark.scaledIterations {
            fixture.route(join)
            fixture.route(leave)
        }
    }
    Benchmark("config load + compile, 1000 events", configuration: .init(maxIterations: 20)) { benchmark in
        for _ in benchmark.scaledIterations { try! Fixture.compile1000Events() }
    }
}
