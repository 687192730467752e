import Synchronization

/// What one stable connection received: the ids of its room's messages, and what was missing when its
/// room's sentinel arrived (see ``DeliveryLedger`` for why that moment is the one to judge).
final class StableMember: Sendable {
    /// The member's index among the stable connections.
    let index: Int
    /// The room it joined for the whole run.
    let room: Int

    /// Receipts, written by the connection's reader and read by the verdict.
    struct Receipts {
        /// Message ids seen.
        var seen: Set<Int> = []
        /// Messages seen more than once.
        var duplicates = 0
        /// Whether the room's sentinel has arrived.
        var sentinelSeen = false
        /// The acked ids that had not arrived when the sentinel did.
        var missingAtSentinel: [Int] = []
    }

    private let receipts = Mutex(Receipts())

    /// A member of `room`.
    init(index: Int, room: Int) {
        self.index = index
        self.room = room
    }

    /// Records message `id`; if it is the room's sentinel, fixes what is missing at that moment.
    func receive(_ id: Int, ledger: DeliveryLedger) {
        let before = ledger.ackedBeforeSentinel(ifSentinel: id, room: room)
        receipts.withLock {
            if !$0.seen.insert(id).inserted { $0.duplicates += 1 }
            if let before, !$0.sentinelSeen {
                $0.sentinelSeen = true
                let seen = $0.seen
                $0.missingAtSentinel = before.filter { !seen.contains($0) }
            }
        }
    }

    /// Whether the room's sentinel has arrived.
    var sentinelSeen: Bool { receipts.withLock { $0.sentinelSeen } }

    /// The final account, judged now: messages missing at the sentinel that arrived since (late) and that
    /// never did (lost). Without a sentinel, every acked message of the room not seen is lost.
    func account(ledger: DeliveryLedger) -> (late: Int, lost: [Int], duplicates: Int, received: Int) {
        let ackedInRoom = ledger.ackedBeforeSentinel(room: room)
        return receipts.withLock { receipts in
            let expected = receipts.sentinelSeen ? receipts.missingAtSentinel : Array(ackedInRoom)
            let lost = expected.filter { !receipts.seen.contains($0) }
            let late = receipts.sentinelSeen ? expected.count - lost.count : 0
            return (late, lost, receipts.duplicates, receipts.seen.count)
        }
    }
}
