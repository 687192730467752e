import ArgumentParser
import Dispatch
import Foundation
import GoDispatchCore
import Logging
import Synchronization

/// `godispatch simulate`: run one event's pipeline (a client event sent by `--as`, or a server event a
/// backend would emit) through the real plugins against an in-memory host that records what would be
/// sent instead of sending it. No network.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate", abstract: "Dry-run an event's pipeline and print each step and its effects.")

    @Option(name: .long, help: "The YAML configuration file.") var config: String
    @Option(name: .long, help: "The client event to send (with --as).") var event: String?
    @Option(name: .customLong("server-event"), help: "The server event to emit, as a backend would (no sender).")
    var serverEvent: String?
    @Option(name: .long, help: "The envelope's target.") var target: String?
    @Option(name: .long, help: "The payload, as JSON.") var payload: String?
    @Option(name: .customLong("as"), help: "The sender's user id (client events).") var user: String?
    @Option(name: .long, help: "The sender's permissions, comma-separated.") var perms: String?
    @Option(name: .long, help: "Rooms the sender is already in, comma-separated.") var rooms: String?
    @OptionGroup var pluginOptions: PluginOptions

    func validate() throws {
        switch (event, serverEvent) {
        case (nil, nil): throw ValidationError("name what to simulate: --event NAME --as USER, or --server-event NAME")
        case (.some, .some): throw ValidationError("--event and --server-event exclude each other; pick one")
        case (.some, nil) where user == nil: throw ValidationError("--event needs --as USER, the sender's user id")
        case (nil, .some) where user != nil || perms != nil || rooms != nil:
            throw ValidationError("a server event has no sender: drop --as, --perms and --rooms")
        default: break
        }
        if let payload, (try? JSONReader.parse(Array(payload.utf8))) == nil {
            throw ValidationError("--payload must be JSON, e.g. '{\"text\":\"hi\"}'")
        }
    }

    func run() async throws {
        var logger = Logger(label: "godispatch.simulate")
        logger.logLevel = .critical
        let settings = try Defaults.loadConfig(config)
        try Defaults.checkPluginsDirectory(settings, override: pluginOptions.plugins)
        let report = SimulationReport()
        let engine: Engine
        do {
            engine = try Engine(
                settings: settings, pluginsDirectory: pluginOptions.plugins, fanOut: RecordingFanOut(report: report),
                observer: report, logger: logger)
        } catch {
            Defaults.printErrors(error.description)
            throw ExitCode(2)
        }
        if let serverEvent {
            try await simulate(serverEvent: serverEvent, engine: engine, report: report)
            return
        }
        guard let event, let user else { return }  // validate() requires both
        var envelope = JSONWriter()
        envelope.writeASCII("{\"event\":")
        envelope.writeString(event)
        if let target {
            envelope.writeASCII(",\"target\":")
            envelope.writeString(target)
        }
        if let payload {
            envelope.writeASCII(",\"payload\":")
            envelope.writeRaw(Array(payload.utf8))
        }
        envelope.writeASCII(",\"id\":\"sim-1\"}")
        let permissions = perms.map { $0.split(separator: ",").map(String.init) } ?? []
        let executor = SerialExecutor()
        let origin = engine.state.connect(
            userID: user, permissions: permissions, transport: RecordingTransport(name: "\(user) (origin)", executor: executor, report: report))
        for room in rooms?.split(separator: ",").map(String.init) ?? [] { engine.state.join(origin, room: room) }
        report.line("simulating `\(event)` as \(user) [\(permissions.joined(separator: ", "))]" + (target.map { " → \($0)" } ?? ""))
        let bytes = envelope.bytes
        executor.execute { engine.router.handle(bytes, from: origin) }
        await report.waitUntilDone()
        for line in report.lines { print(line) }
        if report.failed { throw ExitCode(1) }
    }

    /// Emits `name` as the backend API would, with no sender, and prints the steps and their effects.
    private func simulate(serverEvent name: String, engine: Engine, report: SimulationReport) async throws {
        report.line("simulating server event `\(name)`" + (target.map { " → \($0)" } ?? ""))
        let outcome = await engine.emit(name, target: target, payloadJSON: payload.map { Array($0.utf8) }, on: SerialExecutor())
        switch outcome {
        case .unknownEvent, .invalidPayload:
            report.line("refused before any step: \(outcome)")
            report.finish(failed: true)
        case .completed, .failed:
            break  // the observer told the story, ending with the pipeline's outcome
        }
        for line in report.lines { print(line) }
        if report.failed { throw ExitCode(1) }
    }
}

/// Collects the dry run's story, line by line.
final class SimulationReport: PipelineObserver, Sendable {
    private struct State {
        var lines: [String] = []
        var done = false
        var failed = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    var lines: [String] { state.withLock { $0.lines } }
    var failed: Bool { state.withLock { $0.failed } }

    func line(_ text: String) { state.withLock { $0.lines.append(text) } }

    func finish(failed: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            state.failed = state.failed || failed
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func waitUntilDone() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if !state.done { state.waiter = continuation }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    func stepSkipped(index: Int, action: String, condition: String) {
        line("step \(index + 1) \(action): skipped (when: \(condition) is false)")
    }

    func stepStarting(index: Int, action: String, params: [(name: String, value: String?)]) {
        line("step \(index + 1) \(action)")
        line("  params: " + (params.isEmpty ? "(none)" : params.map { "\($0.name)=\($0.value ?? "null")" }.joined(separator: " ")))
    }

    func stepFinished(index: Int, action: String, status: Int32, detail: String?) {
        if status == 0 {
            line("  outcome: ok" + (detail.map { ", result \($0)" } ?? ""))
        } else {
            line("  outcome: failed (status \(status)): \(detail ?? "")")
        }
    }

    func pipelineFinished(_ outcome: PipelineOutcome) {
        switch outcome {
        case .completed:
            line("pipeline completed")
            finish(failed: false)
        case .failed(let code, let message):
            line("pipeline stopped: \(code.rawValue): \(message)")
            finish(failed: true)
        case .abandoned:
            line("pipeline abandoned: the connection closed")
            finish(failed: true)
        }
    }
}

/// Records frames to the simulated sender; an error frame before any step means the router refused it.
final class RecordingTransport: ConnectionTransport, Sendable {
    let name: String
    let executor: any ConnectionExecutor
    let report: SimulationReport

    init(name: String, executor: any ConnectionExecutor, report: SimulationReport) {
        self.name = name
        self.executor = executor
        self.report = report
    }

    func send(_ frame: OutboundFrame) {
        if let value = try? JSONReader.parse(frame.bytes), value["event"] == .string("error") {
            let payload = value["payload"]
            if case .string(let code)? = payload?["code"], case .string(let message)? = payload?["message"],
                ["bad_request", "unknown_event", "forbidden", "invalid_payload", "rate_limited"].contains(code),
                !report.lines.contains(where: { $0.hasPrefix("step ") })
            {
                report.line("refused before any step: \(code): \(message)")
                report.finish(failed: true)
                return
            }
        }
        report.line("  sends to \(name): \(frame.text)")
    }

    func close(code: UInt16, reason: String) { report.line("  closes \(name): \(code) \(reason)") }
}

/// Records fan-outs: one frame, its recipients.
struct RecordingFanOut: FrameFanOut {
    let report: SimulationReport

    func deliver(_ frame: OutboundFrame, to recipients: [Connection]) {
        let names = recipients.map(\.user.id).joined(separator: ", ")
        report.line("  sends to \(recipients.count) connection(s) [\(names)]: \(frame.text)")
    }
}

/// A serial queue standing in for the sender's event loop.
final class SerialExecutor: ConnectionExecutor {
    private let queue = DispatchQueue(label: "godispatch.simulate")

    func execute(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork {
        let item = DispatchWorkItem(block: work)
        queue.asyncAfter(deadline: .now() + delay.timeInterval, execute: item)
        return Cancel(item: item)
    }

    struct Cancel: ScheduledWork, @unchecked Sendable {
        let item: DispatchWorkItem
        func cancel() { item.cancel() }
    }
}

extension Duration {
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
