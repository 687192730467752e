import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why the server could not be started or did not behave.
public struct ServerProcessError: Error, CustomStringConvertible {
    /// What went wrong, with what to do.
    public let description: String

    /// An error saying `description`.
    public init(description: String) { self.description = description }
}

/// The server under test: `godispatch serve` started by the driver as a child process, its output in a
/// log file. The child inherits the driver's raised `RLIMIT_NOFILE` and its process group, so a Ctrl-C
/// reaches both.
public final class ServerProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// Where its stdout and stderr go.
    public let logPath: String
    /// The wait status once the child has been reaped.
    private let exitStatus = Mutex<Int32?>(nil)

    /// A started child.
    private init(pid: pid_t, port: Int, logPath: String) {
        self.pid = pid
        self.port = port
        self.logPath = logPath
    }

    /// Starts `executable serve --config config --port port --plugins plugins --log-level warning` and
    /// `extraArguments`, with `environment` added to the driver's own.
    public static func launch(
        executable: String, config: String, plugins: String, port: Int, logPath: String, environment: [String: String],
        extraArguments: [String] = []
    ) throws -> ServerProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ServerProcessError(description: "\(executable) is not an executable; run `make build` first")
        }
        let arguments = [
            executable, "serve", "--config", config, "--port", String(port), "--plugins", plugins, "--log-level",
            "warning",
        ] + extraArguments
        do {
            let pid = try ChildProcess.spawn(arguments, environment: environment, output: logPath)
            return ServerProcess(pid: pid, port: port, logPath: logPath)
        } catch {
            throw ServerProcessError(description: "\(error)")
        }
    }

    /// How the child ended, or nil while it runs (reaps it when it has ended).
    public func exitDescription() -> String? {
        exitStatus.withLock { known in
            if known == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { known = status }
            }
            return known.map(Self.describe)
        }
    }

    /// Whether the child ended with exit code 0.
    public var exitedCleanly: Bool { exitStatus.withLock { $0.map { Self.exitCode($0) == 0 } ?? false } }

    /// Waits until `GET /healthz` answers 200.
    public func waitHealthy(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let ended = exitDescription() {
                throw ServerProcessError(description: "the server \(ended) while starting; its log:\n\(logTail())")
            }
            if HealthProbe.isHealthy(port: port) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ServerProcessError(
            description: "the server did not answer /healthz within \(timeout); its log:\n\(logTail())")
    }

    /// Sends SIGTERM and waits for the exit (SIGKILL after `timeout`); returns how it ended.
    @discardableResult
    public func terminate(timeout: Duration) async -> String {
        if let ended = exitDescription() { return ended }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let ended = exitDescription() { return ended }
            try? await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        while exitDescription() == nil { try? await Task.sleep(for: .milliseconds(50)) }
        return "did not exit within \(timeout) of SIGTERM and was killed"
    }

    /// The last `lines` lines of the server's log.
    public func logTail(lines: Int = 20) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "(no log at \(logPath))" }
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        return all.suffix(lines).joined(separator: "\n")
    }

    /// The lines of the server's log.
    public func logLines() -> [Substring] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n")
    }

    /// A free TCP port on 127.0.0.1 (bound and released; the server binds it right after).
    public static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else {
            throw ServerProcessError(description: "socket(): \(String(cString: strerror(errno)))")
        }
        defer { close(socket) }
        var address = HealthProbe.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw ServerProcessError(description: "bind(): \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The exit code of a wait status, nil when a signal ended the process (`WIFEXITED`/`WEXITSTATUS`).
    private static func exitCode(_ status: Int32) -> Int32? { status & 0x7f == 0 ? (status >> 8) & 0xff : nil }

    /// A wait status in words.
    private static func describe(_ status: Int32) -> String {
        if let code = exitCode(status) { return "exited with code \(code)" }
        return "was killed by signal \(status & 0x7f)"
    }
}

/// A blocking `GET /healthz` over a plain socket: the driver needs no HTTP client for one request.
public enum HealthProbe {
    /// Whether 127.0.0.1:`port` answers `GET /healthz` with 200 within two seconds.
    public static func isHealthy(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, 0) }) == request.count else {
            return false
        }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        return String(decoding: buffer[..<count], as: UTF8.self).hasPrefix("HTTP/1.1 200")
    }

    /// `sockaddr_in` for 127.0.0.1:`port`.
    public static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        return address
    }
}
