import GoDispatchLoadDriver
import Foundation

/// Why a run could not go on (as opposed to a run that finished and failed its checks).
struct SoakAbort: Error, CustomStringConvertible {
    /// What happened.
    let description: String
}

/// One soak run against a started, healthy server: the phases of ``SoakCommand`` in order, each
/// waiting on events (acks, sentinels, the server's own counts) with generous timeouts, never on fixed
/// sleeps alone.
struct SoakRun {
    /// What the run does.
    let plan: SoakPlan
    /// The server under test.
    let server: ServerProcess
    /// Signs the tokens.
    let minter: TokenMinter

    /// Runs every phase and returns the figures (the verdict is the report's).
    func run() async throws -> SoakReport {
        let began = ContinuousClock.now
        let counters = SoakCounters()
        let ledger = DeliveryLedger(rooms: plan.rooms)
        let monitor = SoakMonitor(server: server, counters: counters, ledger: ledger)
        let watcher = Task { await monitor.run(interval: plan.progressInterval) }
        defer { watcher.cancel() }
        let workload = Workload(plan: plan, port: server.port, minter: minter, ledger: ledger, counters: counters)

        // Idle: once the /healthz probe's connection is gone (its socket may hold an fd a moment longer).
        try await Task.sleep(for: .seconds(1))
        var idleSample = monitor.sample()
        let quietDeadline = ContinuousClock.now + .seconds(10)
        while let sample = idleSample, sample.connections > 0, ContinuousClock.now < quietDeadline {
            try await Task.sleep(for: .milliseconds(100))
            idleSample = monitor.sample()
        }
        guard let idle = idleSample else { throw SoakAbort(description: "the server is gone") }
        monitor.log("idle: rss \(ProcessProbe.mebibytes(idle.rss)), fds \(idle.fds)")

        // Start: every stable member and every churner's first connection, connected and joined.
        monitor.enter(
            "connecting \(plan.connections) (\(plan.stable) stable, \(plan.churners) churners) over \(plan.rooms) rooms"
        )
        let members = (0..<plan.stable).map { StableMember(index: $0, room: plan.room(ofStable: $0)) }
        let stableOpened = await workload.openMany(plan.stable) { index in
            await workload.connectAndJoin(user: "s\(index)", room: members[index].room, member: members[index])
        }
        let churnerRooms = (0..<plan.churners).map { _ in Int.random(in: 0..<plan.rooms) }
        let churnersOpened = await workload.openMany(plan.churners) { slot in
            await workload.connectAndJoin(user: "c\(slot)-0", room: churnerRooms[slot], member: nil)
        }
        let stable = stableOpened.compactMap { $0 }
        let firstChurners = churnersOpened.compactMap { $0 }
        guard stable.count == plan.stable, firstChurners.count == plan.churners else {
            let problems = counters.problems.kept.joined(separator: "\n  ")
            throw SoakAbort(
                description: "only \(stable.count + firstChurners.count) of \(plan.connections) connections could be "
                    + "opened and joined:\n  \(problems)")
        }
        let start = try await settledSample(monitor, label: "start")

        // Churn.
        monitor.enter("churning for \(plan.churnDuration)")
        let churnBegan = ContinuousClock.now
        let publisher = Task { await workload.runStablePublisher(stable) }
        let churnerTasks = (0..<plan.churners).map { slot in
            Task {
                await Churner(slot: slot, workload: workload).run(first: firstChurners[slot], room: churnerRooms[slot])
            }
        }
        try await Task.sleep(for: plan.churnDuration)
        workload.stop()
        let churnElapsed = ContinuousClock.now - churnBegan

        // End: the churners back, every publish acked, then measured.
        monitor.enter("churn stopped; waiting for every churner to connect and join once more")
        await publisher.value
        let parked = try await withDeadline(plan.reassembleTimeout, what: "the churners' last reconnect") {
            var parked: [SoakConnection] = []
            for task in churnerTasks { if let connection = await task.value { parked.append(connection) } }
            return parked
        }
        monitor.enter("waiting for the \(ledger.outstandingCount) publish(es) still under way to be acked")
        let drainDeadline = ContinuousClock.now + plan.drainTimeout
        while ledger.outstandingCount > 0, ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let end = try await settledSample(monitor, label: "end")

        // Loss check: a sentinel per room, from its first stable member.
        monitor.enter("publishing \(plan.rooms) sentinels")
        let unacked = ledger.outstandingCount
        let sentinelDeadline = ContinuousClock.now + plan.sentinelTimeout
        await withTaskGroup(of: Void.self) { group in
            for room in 0..<plan.rooms {
                let publisher = stable[room]  // stable member `room` is the first one of room `room`
                group.addTask {
                    do {
                        try await publisher.publish(
                            to: room, awaitAck: true, timeout: plan.sentinelTimeout, sentinel: true)
                    } catch {
                        counters.note("\(publisher.user): sentinel of \(SoakPlan.roomName(room)) failed: \(error)")
                    }
                }
            }
        }
        while members.contains(where: { !$0.sentinelSeen }), ContinuousClock.now < sentinelDeadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: plan.lateGrace)
        var lost = 0
        var late = 0
        var duplicates = 0
        var lostExamples: [String] = []
        var expected = 0
        for member in members {
            let account = member.account(ledger: ledger)
            lost += account.lost.count
            late += account.late
            duplicates += account.duplicates
            expected += ledger.ackedBeforeSentinel(room: member.room).count
            if !account.lost.isEmpty, lostExamples.count < 10 {
                lostExamples.append("s\(member.index) in \(SoakPlan.roomName(member.room)): \(account.lost.prefix(10))")
            }
        }
        let sentinelsMissing = members.filter { !$0.sentinelSeen }.count
        monitor.log(
            "loss check: lost \(lost), late \(late), duplicates \(duplicates), sentinels missing \(sentinelsMissing)")

        // After close: every client gone; the server back to idle.
        monitor.enter("closing every connection")
        let everyone = stable + parked
        _ = try? await withDeadline(plan.closeTimeout, what: "closing every connection") {
            await withTaskGroup(of: Void.self) { group in
                for (index, connection) in everyone.enumerated() {
                    group.addTask {
                        if index % 2 == 0 {
                            await connection.closeCleanly(timeout: plan.ackTimeout)
                        } else {
                            await connection.drop()
                        }
                        await connection.waitClosed()
                    }
                }
            }
        }
        monitor.enter("waiting for the server to return to idle")
        var afterClose = monitor.sample()
        let idleDeadline = ContinuousClock.now + plan.idleTimeout
        while let sample = afterClose, sample.connections > 0 || sample.fds > idle.fds + plan.idleFdSlack,
            ContinuousClock.now < idleDeadline
        {
            try await Task.sleep(for: .milliseconds(500))
            afterClose = monitor.sample()
        }
        if let afterClose {
            monitor.log(
                "after close: rss \(ProcessProbe.mebibytes(afterClose.rss)), fds \(afterClose.fds), "
                    + "connections \(afterClose.connections)")
        }
        watcher.cancel()
        monitor.enter("stopping the server (SIGTERM)")
        let serverExit = await server.terminate(timeout: plan.stopTimeout)

        let ledgerState = ledger.snapshot
        return SoakReport(
            plan: plan, idle: idle, start: start, end: end, afterClose: afterClose, peakRSS: monitor.peakRSS,
            churnElapsed: churnElapsed, totalElapsed: ContinuousClock.now - began, counts: counters.snapshot,
            problems: counters.problems, published: ledgerState.published, acked: ledgerState.ackedTotal,
            abandoned: ledgerState.abandoned, unacked: unacked, strayAcks: ledgerState.strayAcks,
            expectedDeliveries: expected, lost: lost, late: late, duplicates: duplicates,
            sentinelsMissing: sentinelsMissing, lostExamples: lostExamples,
            churnersNotBack: plan.churners - parked.count, serverExit: serverExit,
            serverExitClean: server.exitedCleanly, serverLogLines: server.logLines())
    }

    /// Waits ``SoakPlan/settle``, then samples the server and prints it.
    private func settledSample(_ monitor: SoakMonitor, label: String) async throws -> ResourceSample {
        monitor.enter("settling \(plan.settle) before measuring \(label)")
        try await Task.sleep(for: plan.settle)
        guard let sample = monitor.sample() else { throw SoakAbort(description: "the server is gone") }
        monitor.log(
            "\(label): rss \(ProcessProbe.mebibytes(sample.rss)), fds \(sample.fds), connections \(sample.connections)")
        return sample
    }
}
