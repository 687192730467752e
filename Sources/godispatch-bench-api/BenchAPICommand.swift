import ArgumentParser
import Foundation
import GoDispatchLoadDriver

/// `godispatch-bench-api`: what an API publish costs the server next to a client publish. Starts a
/// release `godispatch serve` on `Benchmarks/api.yaml`, joins `--members` real WebSocket members to one
/// room, then publishes into it for `--seconds` each: from a WebSocket client, through `/api/publish`
/// (keep-alive) and through `/api/batch`. Prints publishes and deliveries per second, send→receipt
/// latency, and the server's CPU time per publish (from /proc): the figure the API is judged by.
@main
struct BenchAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "godispatch-bench-api",
        abstract: "Benchmark API publishes against client publishes into one room.")

    @Option(name: .long, help: "Members of the room.")
    var members = 1000

    @Option(name: .long, help: "Seconds each mode publishes.")
    var seconds = 10

    @Option(name: .long, help: "Publishes per batch request.")
    var batch = 100

    @Option(name: .long, help: "Most publishes on their way to the members at once, in every mode (a batch counts its publishes).")
    var window = 32

    @Option(name: .long, help: "Keep-alive HTTP connections of the API modes (one request at a time each).")
    var httpConnections = 32

    @Option(name: .long, help: "The godispatch executable (default: beside this one, as in dist/bin).")
    var server: String?

    @Option(name: .long, help: "The server's configuration.")
    var config = "Benchmarks/api.yaml"

    @Option(name: .long, help: "The plugins directory (default: ../plugins beside this executable).")
    var plugins: String?

    @Option(name: .long, help: "Where the server's output goes.")
    var serverLog = NSTemporaryDirectory() + "godispatch-bench-api-server.log"

    func run() async throws {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let executable = server ?? beside.appendingPathComponent("godispatch").path
        let pluginsDirectory = plugins ?? beside.deletingLastPathComponent().appendingPathComponent("plugins").path
        let minter = await TokenMinter(secret: TokenMinter.randomSecret(), lifetime: 7200)
        let apiKey = TokenMinter.randomSecret()
        let (port, apiPort) = (try ServerProcess.freePort(), try ServerProcess.freePort())
        let process = try ServerProcess.launch(
            executable: executable, config: config, plugins: pluginsDirectory, port: port, logPath: serverLog,
            environment: ["GODISPATCH_BENCH_SECRET": minter.secret, "GODISPATCH_API_KEY": apiKey],
            extraArguments: ["--api-port", String(apiPort)])
        print("godispatch-bench-api: \(executable) (pid \(process.pid)), WebSocket :\(port), API :\(apiPort); load \(Self.loadAverage())")
        do {
            try await process.waitHealthy(timeout: .seconds(120))
            var tokens: [String] = []
            for index in 0..<members { tokens.append(try await minter.token(for: "member\(index)")) }
            let epoch = ContinuousClock.now
            let room = RoomMembers.self
            let joined = try await room.join(count: members, room: "bench", port: port, tokens: tokens, epoch: epoch)
            print(
                "\(members) members joined room `bench`; each mode publishes for \(seconds) s with at most \(window) publishes "
                    + "on their way (API: \(httpConnections) keep-alive connections; batch: 2 connections, window \(max(window, 2 * batch)))")
            var results: [PhaseResult] = []
            var total = 0
            for mode in [PublishMode.client, .api, .batch(size: batch)] {
                let publisher = Publisher(
                    mode: mode, room: "bench", members: joined, window: mode.publishesPerRequest > 1 ? max(window, 2 * batch) : window,
                    wsPort: port, apiPort: apiPort, apiKey: apiKey, publisherToken: try await minter.token(for: "publisher"),
                    httpConnections: mode.publishesPerRequest > 1 ? 2 : httpConnections)
                _ = joined.takeSamples()
                let (cpuBefore, deliveredBefore, started) = (ProcessCPU.seconds(pid: process.pid) ?? 0, joined.delivered, ContinuousClock.now)
                let sent = try await publisher.run(for: .seconds(seconds), startingAt: total)
                total += sent
                guard await joined.waitForAll(total, timeout: .seconds(120)) else {
                    throw BenchError("not every member received every \(mode) publish within 120 s")
                }
                let elapsed = ContinuousClock.now - started
                let cpu = (ProcessCPU.seconds(pid: process.pid) ?? 0) - cpuBefore
                results.append(
                    PhaseResult(
                        mode: mode, publishes: sent, deliveries: joined.delivered - deliveredBefore, elapsed: elapsed, serverCPU: cpu,
                        latencies: joined.takeSamples()))
            }
            await joined.leave()
            PhaseResult.printTable(results, members: members)
        } catch {
            FileHandle.standardError.write(Data("godispatch-bench-api: \(error)\nserver log:\n\(process.logTail())\n".utf8))
            await process.terminate(timeout: .seconds(15))
            throw ExitCode(2)
        }
        await process.terminate(timeout: .seconds(15))
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}

/// One mode's figures.
struct PhaseResult {
    let mode: PublishMode
    let publishes: Int
    let deliveries: Int
    let elapsed: Duration
    let serverCPU: Double
    let latencies: [Int]

    var seconds: Double { Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }
    /// Server CPU microseconds per publish.
    var cpuPerPublish: Double { publishes > 0 ? serverCPU * 1e6 / Double(publishes) : 0 }

    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return .nan }
        let sorted = latencies.sorted()
        return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
    }

    static func printTable(_ results: [PhaseResult], members: Int) {
        func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : String(repeating: " ", count: width - text.count) + text }
        print("")
        print(
            pad("mode", 20) + pad("publishes/s", 13) + pad("deliveries/s", 14) + pad("p50 ms", 9) + pad("p99 ms", 9)
                + pad("server CPU µs/publish", 23) + pad("× client", 10))
        let client = results.first?.cpuPerPublish ?? 0
        for result in results {
            print(
                pad(result.mode.description, 20) + pad(String(format: "%.0f", Double(result.publishes) / result.seconds), 13)
                    + pad(String(format: "%.0f", Double(result.deliveries) / result.seconds), 14)
                    + pad(String(format: "%.2f", result.percentile(0.5)), 9) + pad(String(format: "%.2f", result.percentile(0.99)), 9)
                    + pad(String(format: "%.1f", result.cpuPerPublish), 23)
                    + pad(client > 0 ? String(format: "%.2f", result.cpuPerPublish / client) : "-", 10))
        }
        print("\nroom of \(members) members; latency from send to receipt (every 16th publish, all members); CPU from /proc")
        if results.count > 1, client > 0 {
            let ratio = results[1].cpuPerPublish / client
            print(String(format: "API publish costs the server %.2f× a client publish (aim: at most 2×)", ratio))
        }
    }
}
