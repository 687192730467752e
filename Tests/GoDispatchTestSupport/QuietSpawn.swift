import GoDispatchLoadDriver

#if canImport(Glibc)
    import Glibc
#endif

/// Starts `arguments[0]` (a path) with `arguments` as its argv, quietly (standard input, output and error on
/// /dev/null), through the drivers' ``ChildProcess/spawn(_:environment:output:)``: an empty signal mask,
/// default handlers, no inherited descriptor. Returns its process id; the caller reaps it.
public func spawnQuietly(_ arguments: [String]) throws -> pid_t {
    try ChildProcess.spawn(arguments)
}
