import Foundation
import GoDispatchRedis
import GoDispatchTestSupport
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` for one test: a free port on 127.0.0.1, no persistence, killed at the end.
final class RedisServerProcess: @unchecked Sendable {
    /// Why the test server could not run.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let port: Int
    let extraArguments: [String]
    private var pid: pid_t?
    private let lock = NSLock()

    /// The URL of this server, with `password` if given.
    func url(password: String? = nil, database: Int = 0) -> RedisURL {
        RedisURL(host: "127.0.0.1", port: port, password: password, database: database)
    }

    /// Starts `redis-server` (with e.g. `["--requirepass", "secret"]`) on a free port and waits until it answers.
    static func start(_ extraArguments: [String] = []) async throws -> RedisServerProcess {
        var lastError: (any Error)?
        // Another process may take the port between our probe and redis-server's bind: try a few.
        for _ in 0..<5 {
            let server = RedisServerProcess(port: try freePort(), extraArguments: extraArguments)
            do {
                try await server.launch()
                return server
            } catch {
                lastError = error
                server.stop()
            }
        }
        throw lastError!
    }

    private init(port: Int, extraArguments: [String]) {
        self.port = port
        self.extraArguments = extraArguments
    }

    /// Starts the server again on the same port (after `stop()`).
    func restart() async throws {
        try await launch()
    }

    /// SIGTERM, then waits for the process to exit.
    func stop() {
        let pid = lock.withLock { () -> pid_t? in
            defer { self.pid = nil }
            return self.pid
        }
        guard let pid else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    deinit { stop() }

    /// Spawns redis-server (with an empty signal mask and default handlers: see `spawnQuietly`).
    private func launch() async throws {
        let executable = try Self.executable()
        let arguments =
            [
                executable, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--loglevel", "warning",
            ] + extraArguments
        let pid = try spawnQuietly(arguments)
        lock.withLock { self.pid = pid }
        try await waitUntilAnswering(pid)
    }

    /// Polls with a raw PING until the server answers (any reply, NOAUTH included) or 60 s pass.
    private func waitUntilAnswering(_ pid: pid_t) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                lock.withLock { self.pid = nil }
                throw Failure(description: "redis-server on port \(port) exited (status \(status)); port taken?")
            }
            if Self.answersPing(port: port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "redis-server on port \(port) did not answer PING within 60 s")
    }

    /// One blocking PING over a plain socket: true if a reply line came back.
    private static func answersPing(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let ping = Array("PING\r\n".utf8)
        guard write(fd, ping, ping.count) == ping.count else { return false }
        var reply = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &reply, reply.count)
        return count > 0 && (reply[0] == UInt8(ascii: "+") || reply[0] == UInt8(ascii: "-"))
    }

    /// A port the kernel just gave out on 127.0.0.1 (bound, read, closed).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw Failure(description: "bind(127.0.0.1:0) failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Failure(description: "getsockname failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The path of `redis-server`, or a failure saying how to install it.
    private static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(
            description: "redis-server is not installed; the Redis tests need it: apt-get install redis-server")
    }
}

/// A logger that drops everything (the tests look at behaviour, not logs).
let quietLogger = Logger(label: "redis-tests", factory: { _ in SwiftLogNoOpLogHandler() })
