import ArgumentParser
import Foundation
import GoDispatchClient
import GoDispatchLoadDriver
import GoDispatchRedis
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `godispatch-bench-cluster`: what scale-out on Redis costs. Starts one `redis-server`, then, one
/// configuration after another in the same run — one node on the memory broker, one node on Redis, two
/// nodes sharing Redis — connects `--members` WebSocket members (split evenly over the nodes) and measures
/// scenario A's shape (one room of every member, publishers on every node at the highest rate a window of
/// publishes in flight allows) and scenario B's (`--rooms` rooms, `--rate` publishes/s in all, send→receipt
/// latency per member, split by whether the publisher is on the member's node). Prints one Markdown table
/// per scenario: deliveries/s, server CPU per delivery (nodes + Redis, from /proc), Redis commands per
/// publish (INFO commandstats), latency percentiles and lost messages.
@main
struct BenchClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "godispatch-bench-cluster",
        abstract: "Benchmark one GoDispatch node against two nodes sharing one redis-server, in one run.")

    @Option(name: .long, help: "WebSocket members (split evenly over the nodes); each is in A's room and one of B's rooms.")
    var members = 1000

    @Option(name: .long, help: "Scenario A: publishers into the one room (spread over the nodes).")
    var publishers = 2

    @Option(name: .long, help: "Scenario A: most publishes (all publishers together) sent and not yet received by every member.")
    var window = 8

    @Option(name: .long, help: "Seconds each scenario is measured, per configuration (over all rounds, after the warm-up).")
    var seconds = 10

    @Option(name: .long, help: "Rounds each scenario's seconds are split into; the configurations take turns, round by round.")
    var rounds = 5

    @Option(name: .long, help: "Seconds of warm-up before each configuration's first round (not counted).")
    var warmup = 2

    @Option(name: .long, help: "Scenario B: publishes per second, all publishers together.")
    var rate = 2000

    @Option(name: .long, help: "Scenario B: rooms (member i is in room i % rooms).")
    var rooms = 100

    @Option(name: .customLong("b-publishers"), help: "Scenario B: publishers (spread over the nodes; room r is publisher r % n's).")
    var bPublishers = 10

    @Option(name: .long, help: "Bytes of each publish's payload JSON.")
    var payload = 128

    @Option(name: .long, help: "Configurations to run, in order: memory (1 node), redis-1 (1 node on Redis), redis-2 (2 nodes on Redis).")
    var configurations = "memory,redis-1,redis-2"

    @Option(name: .long, help: "Scenarios to run: A, B or both.")
    var scenarios = "A,B"

    @Flag(inversion: .prefixedNo, help: "Pin the nodes and redis-server to CPU 1 and this driver to CPU 0 (taskset), as `make bench` does.")
    var pin = true

    @Option(name: .long, help: "The godispatch executable (default: beside this one, as in dist/bin).")
    var server: String?

    @Option(name: .long, help: "The plugins directory (default: ../plugins beside this executable).")
    var plugins: String?

    @Option(name: .customLong("redis-server"), help: "The redis-server executable.")
    var redisServer = "/usr/bin/redis-server"

    @Option(name: .long, help: "Where configs, logs and table.md go (default: a new directory under $TMPDIR).")
    var workDir: String?

    func validate() throws {
        guard members >= 2, rounds >= 1, publishers >= 1, window >= 1, seconds >= 1, warmup >= 0, rate >= 1, rooms >= 1, bPublishers >= 1 else {
            throw ValidationError("members ≥ 2, publishers ≥ 1, window ≥ 1, seconds ≥ 1, rate ≥ 1, rooms ≥ 1 and b-publishers ≥ 1")
        }
        guard payload >= 64, payload <= 60_000 else { throw ValidationError("--payload is 64 to 60000 bytes") }
        for name in configurationList where ClusterConfiguration(name) == nil {
            throw ValidationError("unknown configuration \(name): use memory, redis-1, redis-2")
        }
    }

    var configurationList: [String] { configurations.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    var scenarioList: Set<String> { Set(scenarios.uppercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }

    func run() async throws {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let executable = server ?? beside.appendingPathComponent("godispatch").path
        let pluginsDirectory = plugins ?? beside.deletingLastPathComponent().appendingPathComponent("plugins").path
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let work = workDir ?? (NSTemporaryDirectory() + "godispatch-bench-cluster/\(stamp)")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let pinned = pin && Pinning.available && ProcessInfo.processInfo.activeProcessorCount >= 2
        if pinned { Pinning.pin(pid: getpid(), cpu: 0) }

        let redis = try RedisServerProcess.launch(executable: redisServer, logPath: work + "/redis.log")
        let redisConnection = RedisConnection(
            url: RedisURL(host: "127.0.0.1", port: redis.port), logger: Logger(label: "bench-cluster.redis"))
        var rows: [PhaseResult] = []
        var failure: String?
        var background: Background?
        do {
            try await Self.connect(redisConnection, redis: redis)
            if pinned { Pinning.pin(pid: redis.pid, cpu: 1) }
            say(
                "godispatch-bench-cluster: \(executable); redis-server \(redis.port) (pid \(redis.pid)); work \(work); "
                    + "load \(ProcessCPU.loadAverage()); \(pinned ? "nodes + redis-server on CPU 1, driver on CPU 0" : "not pinned")")
            let minter = await TokenMinter(secret: TokenMinter.randomSecret(), lifetime: 7200)
            var tokens: [String] = []
            for index in 0..<members { tokens.append(try await minter.token(for: "member\(index)")) }
            var publisherTokens: [String] = []
            for index in 0..<max(publishers, bPublishers) { publisherTokens.append(try await minter.token(for: "publisher\(index)")) }
            // Every configuration runs at once (idle while another is measured), and each scenario's measured
            // seconds are split into rounds taken in turn, so noise from the rest of the machine falls on all alike.
            var deployments: [Deployment] = []
            defer { for deployment in deployments { deployment.kill() } }
            for name in configurationList {
                guard let configuration = ClusterConfiguration(name) else { continue }
                deployments.append(
                    try await Deployment.start(
                        bench: self, configuration: configuration, executable: executable, plugins: pluginsDirectory, work: work,
                        secret: minter.secret, redis: redis, redisConnection: redisConnection, pinned: pinned, tokens: tokens,
                        publisherTokens: publisherTokens))
            }
            // What the idle nodes ask of Redis (heartbeats): it runs under every measured window too.
            let idleBefore = try await CommandStats.read(redisConnection)
            let idleStart = ContinuousClock.now
            try await Task.sleep(for: .seconds(3))
            let idle = try await CommandStats.read(redisConnection).since(idleBefore)
            background = Background(
                callsPerSecond: Double(idle.total) / (ContinuousClock.now - idleStart).seconds, commands: idle.others,
                redisNodes: deployments.filter { $0.configuration.broker == .redis }.map(\.configuration.nodes).reduce(0, +))
            var phaseID = 0
            for scenario in ["A", "B"] where scenarioList.contains(scenario) {
                var merged: [PhaseResult?] = Array(repeating: nil, count: deployments.count)
                for round in 0..<rounds {
                    for (index, deployment) in deployments.enumerated() where merged[index]?.nodeDeaths.isEmpty ?? true {
                        if round == 0, warmup > 0 {
                            phaseID += 1
                            let result = try await deployment.segment(scenario: scenario, id: phaseID, duration: .seconds(warmup))
                            say("  \(deployment.configuration.name) \(scenario) warm-up : \(result.summary)")
                        }
                        phaseID += 1
                        let result = try await deployment.segment(
                            scenario: scenario, id: phaseID, duration: .milliseconds(seconds * 1000 / rounds))
                        say("  \(deployment.configuration.name) \(scenario) round \(round + 1): \(result.summary)")
                        if merged[index] == nil { merged[index] = result } else { merged[index]!.add(result) }
                        if redis.hasExited { throw BenchError("redis-server ended; its log: \(work)/redis.log") }
                    }
                }
                rows += merged.compactMap { $0 }
            }
            for deployment in deployments {
                let (problems, notes) = await deployment.stop()
                if let last = rows.lastIndex(where: { $0.configuration.name == deployment.configuration.name }) {
                    rows[last].problems += problems
                    rows[last].notes += notes
                }
            }
            deployments = []
        } catch {
            failure = "\(error)"
        }
        await redisConnection.close()
        await redis.terminate()

        let report = Report(
            rows: rows, bench: self, pinned: pinned, failure: failure, load: ProcessCPU.loadAverage(), background: background)
        let text = report.markdown()
        say("")
        say(text)
        try? text.write(toFile: work + "/table.md", atomically: true, encoding: .utf8)
        say("(also in \(work)/table.md; node logs and configs beside it)")
        if failure != nil || rows.contains(where: { !$0.problems.isEmpty }) { throw ExitCode(1) }
    }

    static func connect(_ connection: RedisConnection, redis: RedisServerProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                try await connection.connect()
                _ = try await connection.execute(["PING"])
                return
            } catch {
                if redis.hasExited { throw BenchError("redis-server exited at start; see \(redis.logPath)") }
                guard ContinuousClock.now < deadline else { throw BenchError("redis-server did not answer PING within 10 s: \(error)") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// One of the configurations the run compares.
struct ClusterConfiguration: Sendable {
    let name: String
    let broker: BrokerKind
    let nodes: Int

    init?(_ name: String) {
        switch name {
        case "memory": (broker, nodes) = (.memory, 1)
        case "redis-1": (broker, nodes) = (.redis, 1)
        case "redis-2": (broker, nodes) = (.redis, 2)
        default: return nil
        }
        self.name = name
    }

    var label: String {
        switch (broker, nodes) {
        case (.memory, _): return "1 node, memory broker"
        case (.redis, 1): return "1 node, Redis broker"
        default: return "\(nodes) nodes, Redis broker"
        }
    }
}

/// One configuration, running: its nodes, its members (joined to A's room and B's rooms) and publishers.
struct Deployment {
    let bench: BenchClusterCommand
    let configuration: ClusterConfiguration
    let nodes: [Node]
    let crowd: Crowd
    let publishersA: [PublisherConnection]
    let publishersB: [PublisherConnection]
    let roomSizes: [Int]
    let measure: Measurement

    /// Starts the nodes (each configuration on Redis with its own key prefix: a cluster of its own), joins
    /// the members and connects the publishers.
    static func start(
        bench: BenchClusterCommand, configuration: ClusterConfiguration, executable: String, plugins: String, work: String,
        secret: String, redis: RedisServerProcess, redisConnection: RedisConnection, pinned: Bool, tokens: [String],
        publisherTokens: [String]
    ) async throws -> Deployment {
        var nodes: [Node] = []
        do {
            for index in 0..<configuration.nodes {
                let name = ["a", "b", "c", "d"][index]
                let port = try ServerProcess.freePort()
                let config = "\(work)/\(configuration.name)-\(name).yaml"
                try NodeConfig.yaml(
                    port: port, broker: configuration.broker, redisPort: redis.port, prefix: "bench-\(configuration.name)", nodeName: name
                ).write(toFile: config, atomically: true, encoding: .utf8)
                let process = try ServerProcess.launch(
                    executable: executable, config: config, plugins: plugins, port: port,
                    logPath: "\(work)/\(configuration.name)-\(name).log", environment: ["GODISPATCH_BENCH_SECRET": secret])
                nodes.append(Node(name: name, index: index, process: process))
            }
            for node in nodes { try await node.process.waitHealthy(timeout: .seconds(60)) }
            if pinned { for node in nodes { Pinning.pin(pid: node.process.pid, cpu: 1) } }

            let crowd = try await Crowd.join(
                count: bench.members, ports: nodes.map(\.port), roomA: "a", roomsB: bench.rooms, tokens: tokens,
                epoch: ContinuousClock.now)
            var roomSizes = Array(repeating: 0, count: bench.rooms)
            for member in crowd.members { roomSizes[member.roomB] += 1 }
            func connectPublishers(_ count: Int) async throws -> [PublisherConnection] {
                var result: [PublisherConnection] = []
                for index in 0..<count {
                    let node = nodes[index % nodes.count]
                    let client = try await WebSocketClient.connect(
                        host: "127.0.0.1", port: node.port, path: "/ws",
                        headers: [("Authorization", "Bearer \(publisherTokens[index])")])
                    let publisher = PublisherConnection(index: index, node: node.index, client: client)
                    publisher.watch()
                    result.append(publisher)
                }
                return result
            }
            let publishersA = try await connectPublishers(bench.publishers)
            let publishersB = try await connectPublishers(bench.bPublishers)
            let perNode = (0..<nodes.count).map { index in crowd.members.filter { $0.node == index }.count }
            say(
                "\(configuration.label): \(bench.members) members joined (\(perNode.map(String.init).joined(separator: " + ")) over the "
                    + "nodes), ports \(nodes.map { String($0.port) }.joined(separator: ", "))")
            let measure = Measurement(
                configuration: configuration, nodes: nodes, crowd: crowd, redis: redis, redisConnection: redisConnection)
            return Deployment(
                bench: bench, configuration: configuration, nodes: nodes, crowd: crowd, publishersA: publishersA,
                publishersB: publishersB, roomSizes: roomSizes, measure: measure)
        } catch {
            for node in nodes where node.process.exitDescription() == nil { Glibc.kill(node.process.pid, SIGKILL) }
            throw error
        }
    }

    /// Publishes in `scenario`'s shape for `duration` and measures it.
    func segment(scenario: String, id: Int, duration: Duration) async throws -> PhaseResult {
        if scenario == "A" {
            return try await measure.phase(
                scenario: "A", id: id, publishers: publishersA.count, sampleEvery: 16,
                extra: "\(bench.publishers) publishers, window \(bench.window)"
            ) {
                try await publishAtMaxRate(
                    publishers: publishersA, crowd: crowd, room: "a", phase: id, window: bench.window, duration: duration,
                    payloadSize: bench.payload)
            }
        }
        return try await measure.phase(
            scenario: "B", id: id, publishers: publishersB.count, sampleEvery: 1,
            extra: "\(bench.rooms) rooms, \(bench.bPublishers) publishers, \(bench.rate)/s"
        ) {
            try await publishAtFixedRate(
                publishers: publishersB, crowd: crowd, rooms: bench.rooms, roomSizes: roomSizes, phase: id, rate: bench.rate,
                duration: duration, payloadSize: bench.payload)
        }
    }

    /// Closes every connection and stops the nodes; returns what went wrong on the way, and what was seen.
    func stop() async -> (problems: [String], notes: [String]) {
        var problems: [String] = []
        var notes: [String] = []
        let closedPublishers = (publishersA + publishersB).filter { $0.closed.load(ordering: .relaxed) }.count
        if closedPublishers > 0 { problems.append("\(closedPublishers) publisher connections closed") }
        var channels: (connected: Int, left: Int)?
        var channelsLeftAfter = Duration.zero
        if configuration.broker == .redis {
            // A node subscribes to a room's channel only while it has members there: count them before and after.
            let connected = await subscribedChannels()
            await crowd.leave()
            for publisher in publishersA + publishersB { await publisher.client.disconnect() }
            var left = await subscribedChannels()
            let leftAt = ContinuousClock.now
            let deadline = leftAt + .seconds(20)
            while left.count > configuration.nodes + 1, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(200))
                left = await subscribedChannels()
            }
            channels = (connected.count, left.count)
            channelsLeftAfter = ContinuousClock.now - leftAt
            say(
                "\(configuration.label): \(connected.count) channels subscribed (prefix bench-\(configuration.name)) with members "
                    + "connected, \(left.count) " + String(format: "%.1f s", (ContinuousClock.now - leftAt).seconds)
                    + " after every member and publisher left"
                    + (left.isEmpty ? "" : ": " + left.prefix(5).joined(separator: ", ")))
        } else {
            await crowd.leave()
            for publisher in publishersA + publishersB { await publisher.client.disconnect() }
        }
        if let channels {
            let leftAfter = String(format: "%.1f s", channelsLeftAfter.seconds)
            if channels.left > configuration.nodes + 1 {
                problems.append(
                    "nodes still subscribed to \(channels.left) channels \(leftAfter) after every member and publisher left "
                        + "(\(channels.connected) while connected)")
            } else {
                notes.append(
                    "\(channels.connected) Redis channels subscribed while connected (\(bench.rooms + 1) rooms, a channel per user, "
                        + "control), \(channels.left) (control only) \(leftAfter) after every member and publisher left")
            }
        }
        for node in nodes {
            let ended = await node.process.terminate(timeout: .seconds(15))
            if !node.process.exitedCleanly { problems.append("node \(node.name) \(ended) at the end") }
        }
        return (problems, notes)
    }

    /// The Redis channels this configuration's nodes are subscribed to (`PUBSUB CHANNELS <prefix>*`).
    func subscribedChannels() async -> [String] {
        guard let reply = try? await measure.redisConnection.execute(RedisCommand(["PUBSUB", "CHANNELS", "bench-\(configuration.name)*"] as [String])),
            let elements = reply.array
        else { return [] }
        return elements.compactMap { $0.string }.sorted()
    }

    /// Ends the nodes at once (after a failure).
    func kill() {
        for node in nodes where node.process.exitDescription() == nil { Glibc.kill(node.process.pid, SIGKILL) }
    }
}

/// Takes one phase's figures: CPU of the nodes and redis-server, Redis's command counters, the members' tallies.
struct Measurement {
    let configuration: ClusterConfiguration
    let nodes: [Node]
    let crowd: Crowd
    let redis: RedisServerProcess
    let redisConnection: RedisConnection

    func phase(
        scenario: String, id: Int, publishers: Int, sampleEvery: Int, extra: String,
        publish: () async throws -> PublishOutcome
    ) async throws -> PhaseResult {
        crowd.begin(phase: id, publishers: publishers, sampleEvery: sampleEvery)
        let droppedBefore = crowd.dropped.load(ordering: .relaxed)
        let errorsBefore = crowd.errors.load(ordering: .relaxed)
        let statsBefore = try await CommandStats.read(redisConnection)
        let nodeCPUBefore = nodes.map { ProcessCPU.seconds(pid: $0.process.pid) ?? 0 }
        let redisCPUBefore = ProcessCPU.seconds(pid: redis.pid) ?? 0
        let driverCPUBefore = ProcessCPU.seconds(pid: getpid()) ?? 0
        let machineBefore = ProcessCPU.machineSeconds()
        let started = ContinuousClock.now

        let outcome = try await publish()
        let drained = await crowd.drain(expected: outcome.expected, quiet: .seconds(3), limit: .seconds(60))

        let elapsed = ContinuousClock.now - started
        let nodeCPU = zip(nodes, nodeCPUBefore).map { (ProcessCPU.seconds(pid: $0.process.pid) ?? $1) - $1 }.reduce(0, +)
        let redisCPU = (ProcessCPU.seconds(pid: redis.pid) ?? redisCPUBefore) - redisCPUBefore
        let driverCPU = (ProcessCPU.seconds(pid: getpid()) ?? driverCPUBefore) - driverCPUBefore
        let machineAfter = ProcessCPU.machineSeconds()
        let machine = machineAfter.processes - machineBefore.processes
        let stats = try await CommandStats.read(redisConnection).since(statsBefore)

        var result = PhaseResult(configuration: configuration, scenario: scenario, parameters: extra)
        result.publishes = outcome.publishes
        result.sendLag = outcome.sendLag
        result.expected = outcome.expected
        result.delivered = crowd.delivered
        result.elapsed = elapsed.seconds
        result.publishElapsed = outcome.elapsed.seconds
        result.nodeCPU = nodeCPU
        result.redisCPU = redisCPU
        result.driverCPU = driverCPU
        result.otherCPU = max(0, machine - nodeCPU - redisCPU - driverCPU)
        result.otherPeak = result.otherCPU / max(elapsed.seconds, 1e-9)
        result.interruptCPU = machineAfter.interrupts - machineBefore.interrupts
        result.commands = stats
        var hashes: [UInt64: Int] = [:]
        for member in crowd.members {
            member.tally.withLock { tally in
                result.sameNode += tally.sameNode
                result.otherNode += tally.otherNode
                result.outOfOrder += tally.outOfOrder
                result.stray += tally.stray
                hashes[tally.orderHash, default: 0] += 1
            }
        }
        result.sameNode.sort()
        result.otherNode.sort()
        result.roundP99 = PhaseResult.percentile(result.all, 0.99).map { [$0] } ?? []
        result.roundOtherNodeP99 = PhaseResult.percentile(result.otherNode, 0.99).map { [$0] } ?? []
        if scenario == "A" { result.orderDisagreeing = crowd.members.count - (hashes.values.max() ?? 0) }
        if outcome.stalled { result.problems.append("publishers stalled: no delivery for 5 s with the window full") }
        if !drained {
            result.problems.append(
                "\(max(0, outcome.expected - result.delivered)) of \(outcome.expected) deliveries missing 3 s after the last arrival")
        }
        if result.delivered > outcome.expected { result.problems.append("\(result.delivered - outcome.expected) deliveries more than sent") }
        if result.outOfOrder > 0 { result.problems.append("\(result.outOfOrder) frames out of order or duplicated (per publisher)") }
        if result.orderDisagreeing > 0, result.lost == 0 {
            result.notes.append(
                "\(result.orderDisagreeing) of \(crowd.members.count) members got the publishers' frames interleaved in another order "
                    + "than the rest (each publisher's own frames stayed in order)")
        }
        let dropped = crowd.dropped.load(ordering: .relaxed) - droppedBefore
        if dropped > 0 { result.problems.append("\(dropped) member connections closed") }
        let errors = crowd.errors.load(ordering: .relaxed) - errorsBefore
        if errors > 0 { result.problems.append("members received \(errors) error frames") }
        for node in nodes {
            if let ended = node.process.exitDescription() {
                result.nodeDeaths.append("node \(node.name) \(ended)")
                result.problems.append("node \(node.name) \(ended); its log: \(node.process.logPath)")
            }
        }
        return result
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
