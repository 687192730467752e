import Foundation
import NIOCore

/// How many event loops a server runs: one per CPU the process may actually run on.
///
/// `System.coreCount` honours cgroup quotas and cpusets but not the process's own affinity mask, so a
/// server started under `taskset -c 1` (or `numactl`, or a pinned systemd unit) would still run one loop
/// per core of the machine, and its loops would take turns on the one CPU they share: every fan-out then
/// pays a hop between loops and a context switch for nothing. Go's runtime sizes `GOMAXPROCS` the same way.
public enum EventLoopCount {
    /// The smaller of `System.coreCount` and the CPUs in this process's affinity mask (at least 1).
    public static var forThisProcess: Int {
        max(1, min(System.coreCount, affinityCPUCount ?? System.coreCount))
    }

    /// The CPUs this process may be scheduled on: the `Cpus_allowed` mask of `/proc/self/status` (the same
    /// mask `sched_getaffinity(2)` returns, which Swift's Glibc module does not export); nil where unknown.
    static var affinityCPUCount: Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return cpusAllowed(inStatus: status)
    }

    /// The number of CPUs in the `Cpus_allowed:` line of a `/proc/<pid>/status` text (a comma-separated
    /// hexadecimal mask, e.g. `00000000,00000002`); nil if there is no such line.
    static func cpusAllowed(inStatus status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        var count = 0
        for character in line.dropFirst("Cpus_allowed:".count) {
            guard let nibble = character.hexDigitValue else { continue }  // spaces, tabs and commas
            count += nibble.nonzeroBitCount
        }
        return count > 0 ? count : nil
    }
}
