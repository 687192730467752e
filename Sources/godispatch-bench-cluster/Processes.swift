import Foundation
import GoDispatchLoadDriver
import GoDispatchRedis
import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The CPU time a process has used (user + system), from `/proc/<pid>/stat`, and the machine's busy time.
enum ProcessCPU {
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Seconds of CPU `pid` has used, or nil when it cannot be read (the process is gone).
    static func seconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticks
    }

    /// Seconds of CPU the whole machine has spent (all cores): in processes (user, nice, system, steal) and in
    /// interrupts (irq, softirq: loopback TCP is mostly softirq, charged to no process).
    static func machineSeconds() -> (processes: Double, interrupts: Double) {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first
        else { return (0, 0) }
        // cpu user nice system idle iowait irq softirq steal
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return (0, 0) }
        return ((fields[0] + fields[1] + fields[2] + fields[7]) / ticks, (fields[5] + fields[6]) / ticks)
    }

    /// The 1, 5 and 15 minute load averages.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}

/// Pins every thread of a process to one CPU with `taskset -a -cp` (threads it starts later inherit it).
enum Pinning {
    /// Whether `taskset` is there to pin with.
    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") }

    @discardableResult
    static func pin(pid: Int32, cpu: Int) -> Bool {
        guard let taskset = try? ChildProcess.spawn(["/usr/bin/taskset", "-a", "-cp", String(cpu), String(pid)]) else { return false }
        var status: Int32 = 0
        guard waitpid(taskset, &status, 0) == taskset else { return false }
        return status & 0x7f == 0 && (status >> 8) & 0xff == 0
    }
}

/// The `redis-server` the cluster shares: Debian's, on a free loopback port, nothing persisted.
final class RedisServerProcess: Sendable {
    let pid: pid_t
    let port: Int
    let logPath: String

    private init(pid: pid_t, port: Int, logPath: String) {
        self.pid = pid
        self.port = port
        self.logPath = logPath
    }

    /// Starts `executable --port <free> --bind 127.0.0.1 --save '' --appendonly no` with its log in `logPath`.
    static func launch(executable: String, logPath: String) throws -> RedisServerProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable) is not an executable: install Debian's redis-server (apt-get install redis-server) or pass --redis-server")
        }
        let port = try ServerProcess.freePort()
        let arguments = [
            executable, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "yes",
        ]
        do {
            return RedisServerProcess(pid: try ChildProcess.spawn(arguments, output: logPath), port: port, logPath: logPath)
        } catch {
            throw BenchError("\(error)")
        }
    }

    /// Whether the process has ended (reaps it).
    var hasExited: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) != 0
    }

    /// SIGTERM, then SIGKILL after five seconds.
    func terminate() async {
        kill(pid, SIGTERM)
        for _ in 0..<50 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// Redis's own counters, read with `INFO commandstats` over a `GoDispatchRedis.RedisConnection`.
struct CommandStats: Sendable {
    /// `cmdstat_<name>` → calls.
    var calls: [String: Int] = [:]

    static func read(_ connection: RedisConnection) async throws -> CommandStats {
        let reply = try await connection.execute(["INFO", "commandstats"])
        guard let text = reply.string else { throw BenchError("INFO commandstats answered \(reply)") }
        var stats = CommandStats()
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            // cmdstat_publish:calls=12,usec=34,usec_per_call=2.83,rejected_calls=0,failed_calls=0
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 8)..<colon])
            for field in line[line.index(after: colon)...].split(separator: ",") where field.hasPrefix("calls=") {
                stats.calls[name] = Int(field.dropFirst(6)) ?? 0
            }
        }
        return stats
    }

    /// The calls made between `earlier` and this reading, less the `INFO` that took `earlier`.
    func since(_ earlier: CommandStats) -> CommandStats {
        var delta = CommandStats()
        for (name, count) in calls {
            let made = count - (earlier.calls[name] ?? 0) - (name == "info" ? 1 : 0)
            if made > 0 { delta.calls[name] = made }
        }
        return delta
    }

    var total: Int { calls.values.reduce(0, +) }
    var publish: Int { calls["publish"] ?? 0 }

    /// The commands other than PUBLISH, most called first, e.g. "evalsha 12, sadd 3".
    var others: String {
        calls.filter { $0.key != "publish" }.sorted { $0.value > $1.value }.prefix(4)
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

/// A GoDispatch node: `godispatch serve` on a generated config.
struct Node: Sendable {
    let name: String
    let index: Int
    let process: ServerProcess
    var port: Int { process.port }
}

/// Which broker a configuration's nodes use.
enum BrokerKind: String, Sendable {
    case memory
    case redis
}

/// The YAML every node serves: `join` (joins `{{target}}`, answers `joined`) and `publish` (`_notify_room`
/// to `{{target}}`, event `message`, publishers need not be members), as `Benchmarks/fanout.yaml`.
enum NodeConfig {
    static func yaml(port: Int, broker: BrokerKind, redisPort: Int, prefix: String, nodeName: String) -> String {
        let brokerLine: String
        switch broker {
        case .memory: brokerLine = "broker: {type: memory}"
        case .redis:
            brokerLine =
                #"broker: {type: redis, url: "redis://127.0.0.1:\#(redisPort)/0", prefix: "\#(prefix)", node_name: "\#(nodeName)", heartbeat: 1s}"#
        }
        return """
            # Written by godispatch-bench-cluster for one node of one configuration.
            server:
              listen: "127.0.0.1:\(port)"
              path: /ws
              max_message_bytes: 65536
              max_outbound_bytes: 16777216
            auth:
              jwt:
                algorithms: [HS256]
                secret: "${GODISPATCH_BENCH_SECRET}"
            connections:
              max_rooms_per_connection: 10
            \(brokerLine)
            events:
              join:
                pipeline:
                  - action: _join
                    params: { room: "{{target}}" }
                  - action: _notify_origin
                    params: { event: joined, target: "{{target}}" }
              publish:
                pipeline:
                  - action: _notify_room
                    params: { room: "{{target}}", event: message, payload: "{{payload}}", allow_non_member: true }

            """
    }
}

/// Why the benchmark could not run.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints a line and flushes it at once, so progress shows as it happens in a pipe or a file too.
func say(_ text: String) {
    print(text)
    fflush(nil)
}

