import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a child process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
}

/// Starts `arguments[0]` (a path) with `arguments` as its argv, its standard input, output and error on
/// /dev/null, and an empty signal mask with default handlers: a child inherits the spawning thread's mask, and
/// the test runner's threads block SIGTERM, which the child would then ignore. Returns its process id; the
/// caller reaps it.
public func spawnQuietly(_ arguments: [String]) throws -> pid_t {
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
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
    guard spawned == 0 else {
        throw SpawnError(description: "posix_spawn(\(arguments[0])): \(String(cString: strerror(spawned)))")
    }
    return pid
}
