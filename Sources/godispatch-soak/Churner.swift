/// One churning client: connect, join a random room, publish a few messages, leave, disconnect, stay
/// away a while, and again — each time as a new user (`c<slot>-<generation>`), so the server creates and
/// must free a user, a connection and a room membership per cycle.
///
/// How a cycle ends is drawn at random, to cover the server's paths for going away:
/// - 10 %: publish the last message and drop the socket at once, without waiting for its ack (the
///   server may be mid-pipeline when the socket goes; the message may or may not be delivered and is
///   not counted either way);
/// - otherwise leave the room first (75 %) or not (the server must then remove the membership itself),
///   and close with a close frame (50 %) or just drop the socket.
///
/// When churn stops, a churner finishes its cycle's departure, connects and joins once more, and parks:
/// the end of the run has as many connections open as its start.
struct Churner: Sendable {
    /// The churner's slot (0 ..< ``SoakPlan/churners``).
    let slot: Int
    /// The traffic it belongs to.
    let workload: Workload

    /// How one cycle ends.
    private struct Departure {
        /// Drop right after the last publish, without its ack.
        var abrupt: Bool
        /// Send `room.leave` before closing.
        var leaves: Bool
        /// Close with a close frame (else drop the socket).
        var clean: Bool

        /// A departure drawn with the odds above.
        static func random() -> Departure {
            if Double.random(in: 0..<1) < 0.10 { return Departure(abrupt: true, leaves: false, clean: false) }
            return Departure(abrupt: false, leaves: Double.random(in: 0..<1) < 0.75, clean: Bool.random())
        }
    }

    /// Cycles from `first` (already joined to `room`) until churn stops; returns the parked connection,
    /// or nil if the last reconnect failed.
    func run(first: SoakConnection, room: Int) async -> SoakConnection? {
        let plan = workload.plan
        var connection = first
        var room = room
        var generation = 0
        while true {
            await cycle(connection, room: room, plan: plan)
            if !workload.isStopping { await workload.pause(.seconds(Double.random(in: plan.churnerOffline))) }
            // Reconnect as a new user; a failed round is counted and retried (three rounds once churn stopped).
            var rounds = 0
            while true {
                generation += 1
                rounds += 1
                room = Int.random(in: 0..<plan.rooms)
                if let next = await workload.connectAndJoin(user: "c\(slot)-\(generation)", room: room, member: nil) {
                    connection = next
                    break
                }
                if workload.isStopping, rounds >= 3 { return nil }
                await workload.pause(.seconds(1))
            }
            if workload.isStopping { return connection }
        }
    }

    /// One connected stretch: publish, wait out the lifetime, depart.
    private func cycle(_ connection: SoakConnection, room: Int, plan: SoakPlan) async {
        let lifetime = Duration.seconds(Double.random(in: plan.churnerOnline))
        let messages = Int.random(in: plan.churnerMessages)
        let departure = Departure.random()
        let gap = lifetime / (messages + 1)
        let start = ContinuousClock.now
        for index in 0..<messages {
            await workload.pause(gap)
            if workload.isStopping || connection.isClosed { break }
            let last = index == messages - 1
            do {
                try await connection.publish(to: room, awaitAck: !(last && departure.abrupt), timeout: plan.ackTimeout)
            } catch {
                if case RequestError.timedOut = error { workload.counters.bump(\.ackTimeouts) }
                workload.counters.note("\(connection.user): publish failed: \(error)")
            }
        }
        if departure.abrupt, !workload.isStopping {
            await connection.drop()
            return
        }
        await workload.pause(lifetime - (ContinuousClock.now - start))
        if departure.leaves, !connection.isClosed {
            do {
                try await connection.leave(room, ledger: workload.ledger, timeout: plan.ackTimeout)
            } catch {
                if case RequestError.timedOut = error { workload.counters.bump(\.ackTimeouts) }
                workload.counters.note("\(connection.user): leave failed: \(error)")
            }
        }
        if departure.clean { await connection.closeCleanly(timeout: plan.ackTimeout) } else { await connection.drop() }
    }
}
