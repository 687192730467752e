// godispatch-microbench: hot-path costs through the real engine (public API only), in a release build.
//
//   make microbench            (builds release, runs against dist/plugins)
//
// Each figure is the median of 7 timed runs; quote ratios between rows, not absolute times.
import Foundation
import GoDispatchCore
import Logging

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
    var bytes = 0
    init(executor: ManualExecutor) { self.executor = executor }
    func send(_ frame: OutboundFrame) {
        frames += 1
        bytes += frame.bytes.count
    }
    func close(code: UInt16, reason: String) {}
}

func measure(_ name: String, iterations: Int, _ body: () -> Void) {
    var samples: [Double] = []
    for _ in 0..<7 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { body() }
        let elapsed = ContinuousClock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        samples.append(ns / Double(iterations))
    }
    samples.sort()
    let figure = String(Int(samples[3].rounded()))
    print(name.padding(toLength: 58, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 12 - figure.count)) + figure + " ns/op")
}

let arguments = CommandLine.arguments
let plugins = arguments.firstIndex(of: "--plugins").map { arguments[$0 + 1] } ?? "dist/plugins"
var logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
logger.logLevel = .critical

let yaml = """
    auth: { jwt: { secret: bench-secret } }
    events:
      empty:
        pipeline: []
      join:
        pipeline:
          - action: _join
            params: { room: "{{target}}" }
      publish:
        pipeline:
          - action: _notify_room
            params: { room: "{{target}}", event: message, payload: "{{payload}}", allow_non_member: true }
      templated:
        pipeline:
          - action: _notify_origin
            params: { event: t, payload: { text: "{{payload.text}}", from: "{{user.id}}", n: "{{payload.n}}" } }
    """
let config = try ConfigLoader(environment: [:]).parse(yaml, file: "microbench.yaml")
let engine = try Engine(settings: config, pluginsDirectory: plugins, logger: logger)
let executor = ManualExecutor()
let origin = engine.state.connect(userID: "alice", permissions: [], transport: CountingTransport(executor: executor))

func route(_ json: String) -> () -> Void {
    let bytes = Array(json.utf8)
    return {
        engine.router.handle(bytes, from: origin)
        executor.drain()
    }
}

let publish = #"{"event":"publish","target":"big","payload":{"ts":1732680000000000000,"data":"0123456789012345678901234567890123456789012345678901234567890123456789"}}"#
measure("envelope parse (128 B publish)", iterations: 200_000) {
    _ = try? EnvelopeParser.parse(Array(publish.utf8))
}
measure("route, empty pipeline (parse + lookup + requires)", iterations: 200_000, route(#"{"event":"empty","target":"r"}"#))
route(#"{"event":"join","target":"r"}"#)()
measure("route + 1 action via ABI (_join, already a member)", iterations: 200_000, route(#"{"event":"join","target":"r"}"#))
measure("route + templated object payload (_notify_origin)", iterations: 100_000,
    route(#"{"event":"templated","payload":{"text":"hello","n":3}}"#))

var members: [CountingTransport] = []
for index in 0..<1000 {
    let transport = CountingTransport(executor: executor)
    members.append(transport)
    engine.state.join(engine.state.connect(userID: "u\(index)", permissions: [], transport: transport), room: "big")
}
measure("publish to 1000 members (one frame, 1000 sends)", iterations: 2_000, route(publish))
let small = engine.state.connect(userID: "solo", permissions: [], transport: CountingTransport(executor: executor))
engine.state.join(small, room: "one")
measure("publish to 1 member", iterations: 200_000,
    route(#"{"event":"publish","target":"one","payload":{"ts":1,"data":"x"}}"#))

var bigConfig = "auth: { jwt: { secret: s } }\nevents:\n"
for index in 0..<1000 {
    bigConfig += "  e\(index):\n    requires: [\"room:{{target}}:write\"]\n    pipeline:\n"
    bigConfig += "      - action: _notify_room\n        params: { room: \"{{target}}\", event: m\(index), payload: { t: \"{{payload.text}}\" } }\n"
}
measure("config load + compile, 1000 events", iterations: 3) {
    let parsed = try! ConfigLoader(environment: [:]).parse(bigConfig, file: "big.yaml")
    _ = try! Engine(settings: parsed, pluginsDirectory: plugins, logger: logger)
}
let delivered = members.reduce(0) { $0 + $1.frames }
let expected = 7 * 2_000
guard delivered / members.count == expected else {
    print("error: each member got \(delivered / members.count) frames, expected \(expected): the publish rows are wrong")
    exit(1)
}
print("(checked: every member received all \(expected) publishes)")
