import Foundation

/// The figures of a finished run, the bounds they are held to, and the verdict.
struct SoakReport {
    /// What the run did.
    var plan: SoakPlan
    /// The server's resources before the first connection.
    var idle: ResourceSample
    /// After the initial connections were connected and joined.
    var start: ResourceSample
    /// After churn stopped and as many connections were open (and joined) again.
    var end: ResourceSample
    /// After every client disconnected and the server settled (nil if it never did).
    var afterClose: ResourceSample?
    /// The highest RSS seen by the progress samples.
    var peakRSS: Int
    /// How long churn really lasted.
    var churnElapsed: Duration
    /// How long the whole run took.
    var totalElapsed: Duration
    /// Event counts.
    var counts: SoakCounts
    /// Problems noted in words, and how many in all.
    var problems: (kept: [String], total: Int)
    /// Publishes sent, acked, abandoned by a publisher that hung up, still unacked on open connections.
    var published: Int, acked: Int, abandoned: Int, unacked: Int, strayAcks: Int
    /// Deliveries the loss check expected: each acked message × the stable members of its room.
    var expectedDeliveries: Int
    /// Acked messages a stable member never saw, late ones (after its sentinel), and duplicates.
    var lost: Int, late: Int, duplicates: Int
    /// Stable members that never saw their room's sentinel.
    var sentinelsMissing: Int
    /// The first few lost messages, as "member: ids".
    var lostExamples: [String]
    /// Connections the churners failed to bring back after churn stopped.
    var churnersNotBack: Int
    /// How the server ended after SIGTERM, and whether that was exit code 0.
    var serverExit: String, serverExitClean: Bool
    /// Lines the server logged at warning level or above.
    var serverLogLines: [Substring]

    /// RSS allowed at the end.
    var rssBound: Int { Int(Double(start.rss) * plan.rssFactor) + plan.rssSlack }
    /// Fds allowed at the end.
    var fdBound: Int { start.fds + plan.fdSlack }
    /// Fds allowed once every client has gone.
    var idleFdBound: Int { idle.fds + plan.idleFdSlack }

    /// Every broken rule, in words; empty means the run passed.
    var failures: [String] {
        var failures: [String] = []
        if lost > 0 { failures.append("\(lost) acked message(s) never reached a stable member of their room") }
        if duplicates > 0 { failures.append("\(duplicates) message(s) reached a stable member twice") }
        if sentinelsMissing > 0 {
            failures.append("\(sentinelsMissing) stable member(s) never saw their room's sentinel")
        }
        if unacked > 0 { failures.append("\(unacked) publish(es) on open connections were never acked") }
        if counts.unexpectedCloses > 0 {
            failures.append(
                "the server closed or lost \(counts.unexpectedCloses) connection(s) the driver did not close")
        }
        if counts.serverErrors > 0 { failures.append("the server sent \(counts.serverErrors) error frame(s)") }
        if counts.ackTimeouts > 0 { failures.append("\(counts.ackTimeouts) join/leave/publish ack(s) timed out") }
        if counts.connectGiveUps > 0 {
            failures.append(
                "\(counts.connectGiveUps) connection(s) could not be opened after \(plan.connectAttempts) attempts")
        }
        if churnersNotBack > 0 {
            failures.append("\(churnersNotBack) churner(s) could not reconnect after churn stopped")
        }
        if end.connections != plan.connections {
            failures.append("the server held \(end.connections) connections at the end, not \(plan.connections)")
        }
        if end.fds > fdBound {
            failures.append("fds grew: \(end.fds) at the end > \(start.fds) at the start + \(plan.fdSlack)")
        }
        if end.rss > rssBound {
            failures.append(
                "RSS grew: \(ProcessProbe.mebibytes(end.rss)) at the end > \(ProcessProbe.mebibytes(start.rss)) × "
                    + "\(plan.rssFactor) + \(ProcessProbe.mebibytes(plan.rssSlack))")
        }
        if let afterClose {
            if afterClose.connections != 0 {
                failures.append("\(afterClose.connections) server connection(s) remained after every client left")
            }
            if afterClose.fds > idleFdBound {
                failures.append(
                    "fds after every client left: \(afterClose.fds) > idle \(idle.fds) + \(plan.idleFdSlack)")
            }
        } else {
            failures.append("the server was gone before it could be measured after the clients left")
        }
        if !serverExitClean { failures.append("after SIGTERM the server \(serverExit)") }
        return failures
    }

    /// Prints the report to stdout.
    func print() {
        func mib(_ bytes: Int) -> String { ProcessProbe.mebibytes(bytes) }
        func row(_ label: String, _ sample: ResourceSample?) -> String {
            guard let sample else { return label.padding(toLength: 14, withPad: " ", startingAt: 0) + "—" }
            return label.padding(toLength: 14, withPad: " ", startingAt: 0)
                + mib(sample.rss).padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(sample.fds).padding(toLength: 9, withPad: " ", startingAt: 0) + String(sample.connections)
        }
        var lines: [String] = []
        lines.append("")
        lines.append("== godispatch-soak report ==")
        lines.append(
            "\(plan.connections) connections (\(plan.stable) stable, \(plan.churners) churners) "
                + "over \(plan.rooms) rooms; churn \(format(churnElapsed)), whole run \(format(totalElapsed))")
        lines.append("")
        lines.append("server        rss           fds      connections")
        lines.append(row("idle", idle))
        lines.append(row("start", start))
        lines.append(row("end", end))
        lines.append(row("after close", afterClose))
        lines.append("peak rss during the run: \(mib(peakRSS))")
        lines.append(
            "bounds: fds end ≤ start + \(plan.fdSlack) = \(fdBound) (\(end.fds <= fdBound ? "ok" : "EXCEEDED")); "
                + "rss end ≤ start × \(plan.rssFactor) + \(mib(plan.rssSlack)) = \(mib(rssBound)) "
                + "(\(end.rss <= rssBound ? "ok" : "EXCEEDED"))")
        if let afterClose {
            lines.append(
                "        after close: fds ≤ idle + \(plan.idleFdSlack) = \(idleFdBound) "
                    + "(\(afterClose.fds <= idleFdBound ? "ok" : "EXCEEDED")), connections = 0 "
                    + "(\(afterClose.connections == 0 ? "ok" : "NOT 0"))")
        }
        lines.append("")
        let closed = counts.closedCleanly + counts.dropped
        lines.append(
            "connections: opened \(counts.opened), closed by the driver \(closed) (clean \(counts.closedCleanly), "
                + "dropped \(counts.dropped)), closed by the server unexpectedly \(counts.unexpectedCloses)")
        lines.append(
            "             connect attempts failed \(counts.connectFailures), given up \(counts.connectGiveUps), "
                + "close handshakes timed out \(counts.closeHandshakeTimeouts)")
        lines.append(
            "rooms:       joins acked \(counts.joins), leaves acked \(counts.leaves), "
                + "ack timeouts \(counts.ackTimeouts)")
        lines.append(
            "messages:    published \(published), acked \(acked), abandoned (publisher hung up before the ack) "
                + "\(abandoned), unacked on open connections \(unacked), stray acks \(strayAcks)")
        lines.append(
            "deliveries:  to stable members \(counts.deliveredToStable) "
                + "(of acked messages expected \(expectedDeliveries)), to churners \(counts.deliveredToChurners)")
        lines.append(
            "loss check:  lost \(lost), late (after the sentinel) \(late), duplicates \(duplicates), "
                + "members without their sentinel \(sentinelsMissing)")
        for example in lostExamples { lines.append("             lost: \(example)") }
        lines.append(
            "server:      error frames \(counts.serverErrors), unexpected frames \(counts.unexpectedFrames), "
                + "after SIGTERM \(serverExit), log lines (warning and above) \(serverLogLines.count)")
        for line in serverLogLines.prefix(10) { lines.append("             log: \(line.prefix(300))") }
        if problems.total > 0 {
            lines.append("problems noted: \(problems.total) (the first \(problems.kept.count)):")
            for problem in problems.kept { lines.append("  - \(problem)") }
        }
        if late > 0 {
            lines.append(
                "warning: \(late) message(s) arrived after their room's sentinel "
                    + "(not lost; see DeliveryLedger on ordering)")
        }
        lines.append("")
        let failures = self.failures
        if failures.isEmpty {
            lines.append("PASS: no message lost; fds and RSS within bounds; the server returned to idle.")
        } else {
            for failure in failures { lines.append("FAIL: \(failure)") }
        }
        say(lines.joined(separator: "\n"))
    }

    /// A duration as seconds with one decimal.
    private func format(_ duration: Duration) -> String { String(format: "%.1f s", duration.seconds) }
}
