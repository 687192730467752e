import Foundation
import GoDispatchLoadDriver
import GoDispatchRedis
import GoDispatchTestSupport
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One real `redis-server` for one test: 127.0.0.1, a port of its own, no persistence. It can be stopped
/// and started again on the same port (the "Redis went away" tests), and takes commands from the test
/// through the project's own client (no `redis-cli`).
final class RedisServer: Sendable {
    /// Why the server could not run.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Its port on 127.0.0.1.
    let port: Int
    /// The running process, nil while stopped.
    private let pid = Mutex<pid_t?>(nil)

    /// `redis://127.0.0.1:<port>/0`.
    var url: String { "redis://127.0.0.1:\(port)/0" }

    private init(port: Int) { self.port = port }

    /// Starts a server on a free port; another process may take the port between the probe and the bind, so
    /// a failed start is retried on a fresh port.
    static func start() async throws -> RedisServer {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = RedisServer(port: try ServerProcess.freePort())
            do {
                try await server.start()
                return server
            } catch {
                lastError = error
                await server.stop()
            }
        }
        throw lastError!
    }

    /// A server not started yet, on a port free now (for nodes that start before their Redis).
    static func unstarted() throws -> RedisServer { RedisServer(port: try ServerProcess.freePort()) }

    /// Starts the server (again) on its port and waits until it answers PING.
    func start() async throws {
        let executable = try Self.executable()
        let arguments = [
            executable, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--loglevel", "warning",
        ]
        let child = try spawnQuietly(arguments)
        pid.withLock { $0 = child }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child {
                pid.withLock { $0 = nil }
                throw Failure(
                    description: "redis-server on port \(port) exited at start (status \(status)); port taken?")
            }
            if (try? await command(["PING"])) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "redis-server on port \(port) did not answer PING within 20 s")
    }

    /// Stops the server (SIGTERM; SIGKILL after 10 s) and waits until it has exited.
    func stop() async {
        guard
            let child = pid.withLock({ pid -> pid_t? in
                defer { pid = nil }
                return pid
            })
        else { return }
        kill(child, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        var status: Int32 = 0
        while waitpid(child, &status, WNOHANG) != child {
            if ContinuousClock.now > deadline {
                kill(child, SIGKILL)
                while waitpid(child, &status, 0) == -1 && errno == EINTR {}
                return
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    deinit {
        if let child = pid.withLock({ $0 }) {
            kill(child, SIGKILL)
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 && errno == EINTR {}
        }
    }

    /// Sends one command on a fresh connection (e.g. `["CLIENT", "KILL", "TYPE", "pubsub"]`) and returns the reply.
    @discardableResult
    func command(_ words: [String]) async throws -> RESPValue {
        let url = RedisURL(host: "127.0.0.1", port: port)
        let connection = RedisConnection(
            url: url, logger: Logger(label: "cluster-tests", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await connection.connect()
            let reply = try await connection.execute(RedisCommand(words))
            await connection.close()
            return reply
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The path of `redis-server`, or a failure saying how to install it.
    private static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(
            description: "redis-server is not installed; the cluster tests need it: apt-get install redis-server")
    }
}
