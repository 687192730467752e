import Foundation

/// The server's resources at one moment, read from `/proc`.
struct ResourceSample: Sendable {
    /// Resident set size in bytes (`/proc/<pid>/status` VmRSS).
    var rss: Int
    /// Open file descriptors (entries of `/proc/<pid>/fd`).
    var fds: Int
    /// Server-side TCP connections on the listening port that the process still holds: ESTABLISHED or
    /// CLOSE_WAIT sockets whose local port is the server's (`/proc/<pid>/net/tcp`).
    var connections: Int
}

/// Reads a process's memory, file descriptors and TCP connections from Linux's `/proc`.
enum ProcessProbe {
    /// The sample of `pid` listening on `port`, nil if the process is gone.
    static func sample(pid: Int32, port: Int) -> ResourceSample? {
        guard let rss = residentBytes(pid: pid), let fds = openFileCount(pid: pid) else { return nil }
        return ResourceSample(rss: rss, fds: fds, connections: tcpConnections(pid: pid, localPort: port) ?? -1)
    }

    /// VmRSS in bytes.
    static func residentBytes(pid: Int32) -> Int? {
        guard let status = read("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
        }
        return nil
    }

    /// The number of open file descriptors.
    static func openFileCount(pid: Int32) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// ESTABLISHED (01) and CLOSE_WAIT (08) IPv4 sockets whose local port is `localPort`, as seen in the
    /// process's network namespace. Clients' own sockets have the port as their remote end, so they do
    /// not count; TIME_WAIT sockets belong to no process and hold no descriptor, so they do not either.
    static func tcpConnections(pid: Int32, localPort: Int) -> Int? {
        guard let table = read("/proc/\(pid)/net/tcp") else { return nil }
        let portSuffix = ":" + String(format: "%04X", localPort)
        var count = 0
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: true)
            guard fields.count >= 4, fields[1].hasSuffix(portSuffix) else { continue }
            if fields[3] == "01" || fields[3] == "08" { count += 1 }
        }
        return count
    }

    /// The 1-minute load average (`/proc/loadavg`).
    static func loadAverage() -> String {
        guard let text = read("/proc/loadavg") else { return "?" }
        return String(text.split(separator: " ").first ?? "?")
    }

    /// The whole of a `/proc` file. They report a size of 0 and are generated as they are read, so they
    /// are read until EOF (a single read of a "whole file" stops at a page and cuts `net/tcp` short).
    static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Bytes as MiB with one decimal.
    static func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}
