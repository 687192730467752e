import GoDispatchLoadDriver
import Synchronization

/// The traffic of a soak run: opening connections (with retries), the stable members, their publisher,
/// and the stop signal the churners watch.
final class Workload: Sendable {
    /// What the run does.
    let plan: SoakPlan
    /// The server's port on 127.0.0.1.
    let port: Int
    /// Signs the tokens.
    let minter: TokenMinter
    /// Publishes, acks and sentinels.
    let ledger: DeliveryLedger
    /// Event counts.
    let counters: SoakCounters
    private let stopping = Atomic<Bool>(false)

    /// A workload for `plan` against 127.0.0.1:`port`.
    init(plan: SoakPlan, port: Int, minter: TokenMinter, ledger: DeliveryLedger, counters: SoakCounters) {
        self.plan = plan
        self.port = port
        self.minter = minter
        self.ledger = ledger
        self.counters = counters
    }

    /// Whether churn has been told to stop.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Tells the churners and the stable publisher to wind down.
    func stop() { stopping.store(true, ordering: .relaxed) }

    /// Sleeps `duration`, waking early when churn stops.
    func pause(_ duration: Duration) async {
        let deadline = ContinuousClock.now + duration
        while !isStopping, ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(.milliseconds(500), deadline - ContinuousClock.now))
        }
    }

    /// Connects as `user` (retrying up to ``SoakPlan/connectAttempts`` times) and joins `room`; nil when
    /// that did not work out (each failure is counted and noted).
    func connectAndJoin(user: String, room: Int, member: StableMember?) async -> SoakConnection? {
        for attempt in 1...plan.connectAttempts {
            let connection: SoakConnection
            do {
                let token = try await minter.token(for: user)
                connection = try await SoakConnection.open(
                    port: port, user: user, token: token, member: member, ledger: ledger, counters: counters,
                    timeout: plan.connectTimeout)
            } catch {
                counters.bump(\.connectFailures)
                counters.note("\(user): connect attempt \(attempt) failed: \(error)")
                try? await Task.sleep(for: .milliseconds(250 * attempt))
                continue
            }
            do {
                try await connection.join(room, ledger: ledger, timeout: plan.ackTimeout)
                return connection
            } catch {
                if case RequestError.timedOut = error { counters.bump(\.ackTimeouts) }
                counters.note("\(user): joining \(SoakPlan.roomName(room)) failed: \(error)")
                await connection.drop()
                return nil
            }
        }
        counters.bump(\.connectGiveUps)
        return nil
    }

    /// Opens `count` connections, at most ``SoakPlan/connectConcurrency`` at a time; `open(i)` opens
    /// the `i`th. The result is in index order, nil where opening failed.
    func openMany(_ count: Int, _ open: @escaping @Sendable (Int) async -> SoakConnection?) async -> [SoakConnection?] {
        await withTaskGroup(of: (Int, SoakConnection?).self) { group in
            var results = [SoakConnection?](repeating: nil, count: count)
            var next = 0
            while next < min(count, plan.connectConcurrency) {
                let index = next
                group.addTask { (index, await open(index)) }
                next += 1
            }
            for await (index, connection) in group {
                results[index] = connection
                if next < count {
                    let index = next
                    group.addTask { (index, await open(index)) }
                    next += 1
                }
            }
            return results
        }
    }

    /// Publishes from random stable connections at ``SoakPlan/stablePublishRate`` until churn stops.
    /// Acks are not awaited here: the ledger counts them, and the drain after churn waits for the rest.
    func runStablePublisher(_ connections: [SoakConnection]) async {
        guard !connections.isEmpty, plan.stablePublishRate > 0 else { return }
        let tick = Duration.milliseconds(50)
        var budget = 0.0
        var last = ContinuousClock.now
        while !isStopping {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let elapsed = now - last
            last = now
            // Catch up after a slow tick, but never burst more than a second's worth.
            budget = min(budget + plan.stablePublishRate * elapsed.seconds, max(1, plan.stablePublishRate))
            while budget >= 1, !isStopping {
                budget -= 1
                let connection = connections.randomElement()!
                guard let member = connection.member else { continue }
                do {
                    try await connection.publish(to: member.room, awaitAck: false, timeout: plan.ackTimeout)
                } catch {
                    counters.note("\(connection.user): publish failed: \(error)")
                }
            }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
