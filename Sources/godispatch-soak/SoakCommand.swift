import GoDispatchLoadDriver
import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `godispatch-soak`: a soak test of a release build of the server (`make soak`).
///
/// It starts `godispatch serve --config Benchmarks/soak.yaml` itself on a free port, with the bundled
/// plugins and a random JWT secret, and drives it through the repo's own NIO WebSocket client:
///
/// 1. **Idle**: the server's RSS (`/proc/<pid>/status` VmRSS) and open fds (`/proc/<pid>/fd`) before any
///    connection.
/// 2. **Start**: `--connections` connections (default 10,000) connected and joined over `--rooms` rooms
///    (default 500): the stable ones (connected and joined for the whole run, stable `i` in room
///    `i mod rooms`) and the churners' first connections (`--churners`, default a fifth). Measured
///    after a settle of 5 s.
/// 3. **Churn** for `--seconds` (default 300): each churner cycles — connect as a new user, join a
///    random room, publish 1–3 messages over 10–30 s, leave (or not), close with a close frame or just
///    drop the socket, stay away 1–5 s (see ``Churner``); the stable connections publish
///    `--publish-rate` messages per second in all (default 100). About 275 messages/s and 90 connects/s
///    in all at the defaults, on purpose modest: the machine is small and shared.
/// 4. **End**: churn stops; every churner connects and joins once more, so as many connections are open
///    as at the start; every publish still under way is acked; after the settle, measured again.
/// 5. **Loss check** (exact, see ``DeliveryLedger``): each room gets a sentinel from one of its stable
///    members; every stable member that sees it must have seen every message of its room acked before
///    it; what is still missing 3 s after every sentinel arrived is lost.
/// 6. **After close**: every client closes (half with a close frame, half by dropping the socket); the
///    server must return to 0 connections and to within 4 fds of its idle count (waited for, up to
///    60 s). Then SIGTERM, and the server must exit with code 0.
///
/// Bounds: fds at end ≤ fds at start + 32; RSS at end ≤ RSS at start × 1.25 + 32 MiB; fds after close
/// ≤ idle fds + 4 and no connection left. Any lost or duplicated message, unacked publish, error frame,
/// connection closed by the server, ack timeout or connection that could not be opened also fails the
/// run. Exit status: 0 pass, 1 fail, 2 could not run (e.g. the server did not start).
@main
struct SoakCommand: AsyncParsableCommand {
    /// The command's name and abstract.
    static let configuration = CommandConfiguration(
        commandName: "godispatch-soak",
        abstract: "Soak-test a release build of godispatch: connections with churn, exact loss check, leak bounds.")

    @Option(name: .long, help: "Connections open at the start and at the end.")
    var connections = 10_000

    @Option(name: .long, help: "Rooms the connections spread over.")
    var rooms = 500

    @Option(name: .long, help: "Seconds of churn.")
    var seconds = 300

    @Option(name: .long, help: "Churning connections (default: a fifth of --connections).")
    var churners: Int?

    @Option(name: .long, help: "Messages per second the stable connections publish, all together.")
    var publishRate = 100.0

    @Option(name: .long, help: "The server's port on 127.0.0.1 (0: a free one).")
    var port = 0

    @Option(name: .long, help: "The godispatch executable (default: beside this one, as in dist/bin).")
    var server: String?

    @Option(name: .long, help: "The server's configuration.")
    var config = "Benchmarks/soak.yaml"

    @Option(name: .long, help: "The plugins directory (default: ../plugins beside this executable, as in dist).")
    var plugins: String?

    @Option(name: .long, help: "Where the server's output goes.")
    var serverLog = NSTemporaryDirectory() + "godispatch-soak-server.log"

    /// Checks the flags against each other before anything starts.
    func validate() throws {
        guard connections >= 2 else { throw ValidationError("--connections must be at least 2") }
        guard rooms >= 1 else { throw ValidationError("--rooms must be at least 1") }
        guard seconds >= 1 else { throw ValidationError("--seconds must be at least 1") }
        guard publishRate >= 0 else { throw ValidationError("--publish-rate must not be negative") }
        let churners = self.churners ?? connections / 5
        guard churners >= 0, churners < connections else {
            throw ValidationError("--churners must be between 0 and --connections - 1")
        }
        guard connections - churners >= rooms else {
            throw ValidationError(
                "every room needs a stable member: --connections - --churners (\(connections - churners)) "
                    + "must be at least --rooms (\(rooms))")
        }
        guard FileManager.default.fileExists(atPath: config) else {
            throw ValidationError("\(config) not found; run from the repository root or pass --config")
        }
    }

    /// Starts the server, runs the soak, prints the report; exits 1 on failure, 2 when it could not run.
    func run() async throws {
        let plan = SoakPlan(
            connections: connections, rooms: rooms, churners: churners ?? connections / 5,
            churnDuration: .seconds(seconds), stablePublishRate: publishRate)
        let limit = try Self.raiseFileLimit(needed: connections + 512)
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let executable = server ?? beside.appendingPathComponent("godispatch").path
        let pluginsDirectory = plugins ?? beside.deletingLastPathComponent().appendingPathComponent("plugins").path
        let minter = await TokenMinter(secret: TokenMinter.randomSecret(), lifetime: Double(seconds) + 7200)
        let port = try self.port == 0 ? ServerProcess.freePort() : self.port
        let process: ServerProcess
        do {
            process = try ServerProcess.launch(
                executable: executable, config: config, plugins: pluginsDirectory, port: port, logPath: serverLog,
                environment: ["GODISPATCH_SOAK_SECRET": minter.secret])
            say(
                "godispatch-soak: \(executable) (pid \(process.pid)) on 127.0.0.1:\(port), log \(serverLog); "
                    + "open files limit \(limit) (inherited by the server)")
            try await process.waitHealthy(timeout: plan.startTimeout)
        } catch {
            FileHandle.standardError.write(Data("godispatch-soak: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let report: SoakReport
        do {
            report = try await SoakRun(plan: plan, server: process, minter: minter).run()
        } catch {
            FileHandle.standardError.write(Data("godispatch-soak: \(error)\n".utf8))
            await process.terminate(timeout: plan.stopTimeout)
            throw ExitCode(2)
        }
        report.print()
        if !report.failures.isEmpty { throw ExitCode(1) }
    }

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit; fails if that is below `needed`. The server,
    /// started afterwards, inherits it.
    static func raiseFileLimit(needed: Int) throws -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw ValidationError("getrlimit(RLIMIT_NOFILE): \(String(cString: strerror(errno)))")
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
                throw ValidationError("setrlimit(RLIMIT_NOFILE): \(String(cString: strerror(errno)))")
            }
        }
        guard limit.rlim_cur >= needed else {
            throw ValidationError(
                "the soak needs \(needed) open files per process and the hard limit is \(limit.rlim_max): "
                    + "raise it (`ulimit -Hn`) or lower --connections")
        }
        return Int(limit.rlim_cur)
    }
}
