import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a child process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    /// What failed, naming the executable.
    public let description: String
}

/// Starting the processes the drivers and tests run (servers, `redis-server`): one way, so every child
/// gets the same hygiene.
public enum ChildProcess {
    /// Starts `arguments[0]` (a path) with `arguments` as its argv and the driver's environment plus
    /// `environment`. Its standard input is /dev/null; its output and errors go to `output` (a file,
    /// truncated; nil: /dev/null). It starts with an empty signal mask and default handlers (a child inherits
    /// the spawning thread's mask, and test runners block SIGTERM, which the child would then ignore), and it
    /// inherits no other descriptor of the driver (a server started after clients connected would otherwise
    /// keep their sockets open). Returns its process id; the caller reaps it.
    public static func spawn(_ arguments: [String], environment: [String: String] = [:], output: String? = nil) throws -> pid_t {
        closeDescriptorsOnExec()
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw SpawnError(description: "could not start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Marks every open descriptor above stderr close-on-exec.
    private static func closeDescriptorsOnExec() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let fd = Int32(entry), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
