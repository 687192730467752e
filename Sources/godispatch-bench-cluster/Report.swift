import Foundation

/// One measured scenario of one configuration.
struct PhaseResult {
    let configuration: ClusterConfiguration
    let scenario: String
    let parameters: String
    var publishes = 0
    var expected = 0
    var delivered = 0
    /// From the first publish until every delivery arrived (or the drain gave up).
    var elapsed = 0.0
    var publishElapsed = 0.0
    var nodeCPU = 0.0
    var redisCPU = 0.0
    var driverCPU = 0.0
    /// CPU of every other process on the machine.
    var otherCPU = 0.0
    /// CPU in interrupts (mostly softirq: loopback TCP, the traffic of this benchmark, charged to no process).
    var interruptCPU = 0.0
    var commands = CommandStats()
    /// Sorted latencies (ns): publisher on the member's node / on another node.
    var sameNode: [Int] = []
    var otherNode: [Int] = []
    var outOfOrder = 0
    var stray = 0
    var orderDisagreeing = 0
    var nodeDeaths: [String] = []
    /// What makes the row's figures wrong or incomplete: lost or extra deliveries, stalls, dead nodes, closed connections.
    var problems: [String] = []
    /// What was seen but leaves the figures sound (e.g. members of one room seeing two publishers' frames interleaved differently).
    var notes: [String] = []
    /// Scenario B: how late each publish left against its intended instant (ns, sorted).
    var sendLag: [Int] = []
    /// The highest share of a core other work used in one round.
    var otherPeak = 0.0
    /// The p99 (ms) of each round added into this row: all members, and members on another node than the publisher.
    var roundP99: [Double] = []
    var roundOtherNodeP99: [Double] = []

    /// The median of the rounds' p99: one bad round (a burst of other work) does not move it.
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    var lost: Int { max(0, expected - delivered) }

    /// Adds another round of the same configuration and scenario.
    mutating func add(_ other: PhaseResult) {
        publishes += other.publishes
        expected += other.expected
        delivered += other.delivered
        elapsed += other.elapsed
        publishElapsed += other.publishElapsed
        nodeCPU += other.nodeCPU
        redisCPU += other.redisCPU
        driverCPU += other.driverCPU
        otherCPU += other.otherCPU
        interruptCPU += other.interruptCPU
        for (name, calls) in other.commands.calls { commands.calls[name, default: 0] += calls }
        sameNode = (sameNode + other.sameNode).sorted()
        sendLag = (sendLag + other.sendLag).sorted()
        otherNode = (otherNode + other.otherNode).sorted()
        outOfOrder += other.outOfOrder
        stray += other.stray
        orderDisagreeing = max(orderDisagreeing, other.orderDisagreeing)
        nodeDeaths += other.nodeDeaths
        for problem in other.problems where !problems.contains(problem) { problems.append(problem) }
        for note in other.notes where !notes.contains(note) { notes.append(note) }
        roundP99 += other.roundP99
        roundOtherNodeP99 += other.roundOtherNodeP99
        otherPeak = max(otherPeak, other.otherPeak)
    }
    var publishesPerSecond: Double { Double(publishes) / max(publishElapsed, 1e-9) }
    var deliveriesPerSecond: Double { Double(delivered) / max(elapsed, 1e-9) }
    /// Server CPU (nodes + redis-server) microseconds per delivery.
    var cpuPerDelivery: Double { delivered > 0 ? (nodeCPU + redisCPU) * 1e6 / Double(delivered) : .nan }
    var redisCPUPerDelivery: Double { delivered > 0 ? redisCPU * 1e6 / Double(delivered) : .nan }
    var publishCommandsPerPublish: Double { publishes > 0 ? Double(commands.publish) / Double(publishes) : .nan }
    var commandsPerPublish: Double { publishes > 0 ? Double(commands.total) / Double(publishes) : .nan }
    var all: [Int] { (sameNode + otherNode).sorted() }
    /// The driver's CPU in the window, in percent of one core.
    var driverPercent: Double { driverCPU / max(elapsed, 1e-9) * 100 }

    /// The `p` quantile of sorted nanoseconds, in milliseconds.
    static func percentile(_ sorted: [Int], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
    }

    var summary: String {
        let latency = Self.percentile(all, 0.99).map { String(format: "p99 %.2f ms", $0) } ?? "no latency samples"
        return String(
            format: "%d publishes (%.0f/s), %d of %d deliveries (%.0f/s), %@, CPU %.2f µs/delivery, Redis %d PUBLISH, %d calls%@",
            publishes, publishesPerSecond, delivered, expected, deliveriesPerSecond, latency, cpuPerDelivery, commands.publish,
            commands.total, (problems + notes).isEmpty ? "" : "; " + (problems + notes).joined(separator: "; "))
    }
}

/// The Markdown the run ends with: one table per scenario, a row per configuration, then what the rows mean.
struct Report {
    let rows: [PhaseResult]
    let bench: BenchClusterCommand
    let pinned: Bool
    let failure: String?
    let load: String
    let background: Background?

    static func ms(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "–" }
    static func number(_ value: Double, _ format: String = "%.0f") -> String {
        guard value.isFinite else { return "–" }
        let text = String(format: format, value)
        // Thousands separators for whole numbers.
        guard format == "%.0f", let whole = Int(text), abs(whole) >= 10_000 else { return text }
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        return formatter.string(from: NSNumber(value: whole)) ?? text
    }

    func lostCell(_ row: PhaseResult) -> String {
        var cell = row.lost == 0 ? "0" : "**\(row.lost) of \(row.expected)**"
        if !row.nodeDeaths.isEmpty { cell += " **(\(row.nodeDeaths.joined(separator: "; ")))**" }
        return cell
    }

    func redisCells(_ row: PhaseResult) -> String {
        guard row.configuration.broker == .redis else { return "– | –" }
        return Self.number(row.publishCommandsPerPublish, "%.2f") + " | " + Self.number(row.commandsPerPublish, "%.2f")
    }

    func markdown() -> String {
        var lines: [String] = []
        let a = rows.filter { $0.scenario == "A" }
        let b = rows.filter { $0.scenario == "B" }
        if !a.isEmpty {
            lines.append(
                "**Scenario A** — one room of \(bench.members) members split evenly over the nodes, \(bench.publishers) publishers "
                    + "(spread over the nodes) at the highest rate a window of \(bench.window) publishes in flight allows, "
                    + "\(bench.payload) B payloads, \(bench.seconds) s:")
            lines.append("")
            lines.append(
                "| configuration | publishes/s | deliveries/s | server CPU µs/delivery (nodes + Redis) | of it Redis | Redis PUBLISH/publish | Redis calls/publish | p50 ms | p99 ms | lost | driver CPU |")
            lines.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
            for row in a {
                lines.append(
                    "| \(row.configuration.label) | \(Self.number(row.publishesPerSecond)) | \(Self.number(row.deliveriesPerSecond)) | "
                        + "\(Self.number(row.cpuPerDelivery, "%.2f")) | "
                        + (row.configuration.broker == .redis ? Self.number(row.redisCPUPerDelivery, "%.2f") : "–") + " | "
                        + "\(redisCells(row)) | \(Self.ms(PhaseResult.percentile(row.all, 0.5))) | "
                        + "\(Self.ms(PhaseResult.percentile(row.all, 0.99))) | \(lostCell(row)) | \(Self.number(row.driverPercent)) % |")
            }
            lines.append("")
        }
        if !b.isEmpty {
            lines.append(
                "**Scenario B** — \(bench.members) members in \(bench.rooms) rooms (each room split evenly over the nodes), "
                    + "\(bench.bPublishers) publishers (spread over the nodes) at \(Self.number(Double(bench.rate))) publishes/s in all, "
                    + "\(bench.payload) B payloads, \(bench.seconds) s; latency from the intended send time to receipt, every delivery:")
            lines.append("")
            lines.append(
                "| configuration | publishes/s | deliveries/s | p50 ms | p99 ms | p99.9 ms | p99 publisher's node | p99 other node | server CPU µs/delivery (nodes + Redis) | of it Redis | Redis PUBLISH/publish | Redis calls/publish | lost | driver CPU | driver send lag p99 ms |")
            lines.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
            for row in b {
                let otherNode = row.configuration.nodes > 1 ? Self.ms(PhaseResult.percentile(row.otherNode, 0.99)) : "–"
                lines.append(
                    "| \(row.configuration.label) | \(Self.number(row.publishesPerSecond)) | \(Self.number(row.deliveriesPerSecond)) | "
                        + "\(Self.ms(PhaseResult.percentile(row.all, 0.5))) | \(Self.ms(PhaseResult.percentile(row.all, 0.99))) | "
                        + "\(Self.ms(PhaseResult.percentile(row.all, 0.999))) | \(Self.ms(PhaseResult.percentile(row.sameNode, 0.99))) | "
                        + "\(otherNode) | \(Self.number(row.cpuPerDelivery, "%.2f")) | "
                        + (row.configuration.broker == .redis ? Self.number(row.redisCPUPerDelivery, "%.2f") : "–")
                        + " | \(redisCells(row)) | \(lostCell(row)) | "
                        + "\(Self.number(row.driverPercent)) % | \(Self.ms(PhaseResult.percentile(row.sendLag, 0.99))) |")
            }
            lines.append("")
            if let single = b.first(where: { $0.configuration.nodes == 1 && $0.configuration.broker == .memory }),
                let cluster = b.first(where: { $0.configuration.nodes > 1 }),
                let base = PhaseResult.percentile(single.all, 0.99)
            {
                if cluster.lost > 0 || !cluster.nodeDeaths.isEmpty {
                    lines.append(
                        "The Redis hop is **not measured**: the two-node run lost \(cluster.lost) of \(cluster.expected) deliveries"
                            + (cluster.nodeDeaths.isEmpty ? "" : " (\(cluster.nodeDeaths.joined(separator: "; ")))") + ".")
                } else if let other = p99Milliseconds(cluster.otherNode), let same = p99Milliseconds(cluster.sameNode),
                    let otherMedian = PhaseResult.median(cluster.roundOtherNodeP99), let baseMedian = PhaseResult.median(single.roundP99)
                {
                    let hop = otherMedian - baseMedian
                    let spread = [single.roundP99, cluster.roundOtherNodeP99].map { ($0.max() ?? 0) - ($0.min() ?? 0) }.max() ?? 0
                    let headline: String
                    if hop < 0 {
                        headline = String(format: "**The Redis hop does not show at p99 at %@ publishes/s** above this run's noise", Self.number(Double(bench.rate)))
                    } else {
                        headline = String(
                            format: "**The Redis hop adds %.2f ms at p99 at %@ publishes/s** (%@ the aim of under 1 ms)", hop,
                            Self.number(Double(bench.rate)), hop < 1 ? "within" : "over")
                    }
                    lines.append(
                        headline
                            + String(
                                format:
                                    ": median of the rounds' p99 %.2f ms for members on the other node of two, %.2f ms on one node with the "
                                    + "memory broker; a configuration's p99 varied by up to %.2f ms from round to round, so read the p99 "
                                    + "difference to about that. Over the whole run, pooled: %.2f ms on the other node, %.2f ms on the "
                                    + "publisher's node, %.2f ms on one node (%+.2f ms).",
                                otherMedian, baseMedian, spread, other, same, base, other - base)
                            + (PhaseResult.percentile(cluster.otherNode, 0.5).flatMap { otherP50 in
                                PhaseResult.percentile(single.all, 0.5).map { baseP50 in
                                    String(format: " At p50, which noise moves least: %.2f ms against %.2f ms (%+.2f ms).", otherP50, baseP50, otherP50 - baseP50)
                                }
                            } ?? ""))
                }
            }
            lines.append(
                "p99 of each round, ms (the configurations took turns, round by round): "
                    + b.map { "\($0.configuration.label) " + $0.roundP99.map { String(format: "%.2f", $0) }.joined(separator: " / ") }
                    .joined(separator: "; ") + ". The driver send lag is how late publishes left against their schedule: "
                    + "the driver's own share of the latency (all in one process on a shared machine).")
        }
        if let redisRows = Optional(rows.filter { $0.configuration.broker == .redis }), !redisRows.isEmpty {
            let perPublish = redisRows.map(\.publishCommandsPerPublish)
            let exact = perPublish.allSatisfy { abs($0 - 1) < 0.005 }
            lines.append(
                "Redis PUBLISH per publish: " + redisRows.map { "\($0.configuration.label) \($0.scenario) \(Self.number($0.publishCommandsPerPublish, "%.3f"))" }
                    .joined(separator: ", ") + (exact ? " — one PUBLISH per publish, as aimed." : " — **not one PUBLISH per publish**.")
                    + " Other commands in the measured windows: "
                    + redisRows.map { "\($0.configuration.label) \($0.scenario): \($0.commands.others.isEmpty ? "none" : $0.commands.others)" }
                    .joined(separator: "; ") + ".")
        }
        if let background, background.redisNodes > 0 {
            lines.append(
                String(
                    format: "Redis calls/publish includes what the %d Redis nodes of this run (every configuration stays up "
                        + "while another is measured) ask of Redis by themselves: %.1f calls/s with nothing published (%@), "
                        + "%.3f calls per publish at %@ publishes/s.",
                    background.redisNodes, background.callsPerSecond, background.commands.isEmpty ? "none" : background.commands,
                    background.callsPerSecond / Double(bench.rate), Self.number(Double(bench.rate))))
        }
        if a.contains(where: { $0.driverPercent >= 90 }) {
            lines.append(
                "In A the driver (one process: every member and publisher) was at about a full core: there deliveries/s is "
                    + "the driver's limit as much as the server's; compare configurations by server CPU per delivery.")
        }
        lines.append("")
        let other = rows.map(\.otherPeak).max() ?? 0
        let interrupts = rows.isEmpty ? 0 : rows.map { $0.interruptCPU / max($0.elapsed, 1e-9) }.reduce(0, +) / Double(rows.count)
        let otherMean = rows.isEmpty ? 0 : rows.map { $0.otherCPU / max($0.elapsed, 1e-9) }.reduce(0, +) / Double(rows.count)
        let driver = rows.map { $0.driverCPU / max($0.elapsed, 1e-9) }.max() ?? 0
        if other > 0.25 {
            lines.append(
                String(
                    format: "**The machine was busy**: other processes used up to %.0f%% of a core during a measured round; latency "
                        + "figures above are noisy (compare the rounds) — rerun on a quiet machine before quoting them.", other * 100))
        }
        lines.append(
            "Measured \(ISO8601DateFormatter().string(from: Date())) on \(ProcessInfo.processInfo.activeProcessorCount) cores "
                + "(\(pinned ? "nodes and redis-server pinned to CPU 1, the driver to CPU 0" : "not pinned")), load average \(load); "
                + String(format: "the driver (members and publishers, one process) used up to %.0f%% of a core, ", driver * 100)
                + String(format: "other processes on the machine %.0f%% of a core on average, up to %.0f%% in a round; ", otherMean * 100, other * 100)
                + String(format: "softirq (loopback TCP, charged to no process and not in the CPU figures) %.0f%% of a core. ", interrupts * 100)
                + "Server CPU is user + system time of the node processes and redis-server from /proc over the measured window "
                + "(from the first publish until the last delivery arrived), divided by the deliveries in it.")
        let troubled = rows.filter { !$0.problems.isEmpty }
        if !troubled.isEmpty || failure != nil {
            lines.append("")
            lines.append("**Problems in this run** (the rows they name are not sound figures):")
            for row in troubled {
                lines.append("- \(row.configuration.label), scenario \(row.scenario): " + row.problems.joined(separator: "; "))
            }
            if let failure { lines.append("- the run stopped: \(failure)") }
        }
        let noted = rows.filter { !$0.notes.isEmpty }
        if !noted.isEmpty {
            lines.append("")
            lines.append("Also seen:")
            for row in noted {
                lines.append("- \(row.configuration.label), scenario \(row.scenario): " + row.notes.joined(separator: "; "))
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// The p99 of sorted nanoseconds in ms, nil without samples.
func p99Milliseconds(_ sorted: [Int]) -> Double? { PhaseResult.percentile(sorted, 0.99) }

/// Redis's traffic with every node up and nothing published (heartbeats and the like).
struct Background {
    let callsPerSecond: Double
    let commands: String
    let redisNodes: Int
}
