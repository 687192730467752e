import Synchronization

/// The exact loss check: which messages were published, which the server acked, per room and in ack
/// order, and each room's sentinel with the acks that came before it.
///
/// The rule it checks: every message the server acked must reach every stable member of its room.
/// Stable members join before anything is published and stay until the end, so the room's member list
/// the server reads when it fans a message out always holds them. The check is made at a moment that
/// is sound by construction, not after a timeout that is merely long: once churn has stopped and every
/// publish is acked, each room gets a sentinel message from one of its stable members, and a member
/// that has seen its room's sentinel must by then have seen every message acked before the sentinel
/// was published. Why that holds:
///
/// 1. The `publish` pipeline's ack step (`_notify_origin`) runs after `_notify_room`, which has already
///    handed the frame to every member's event loop: written into the member's queue when the member
///    lives on the publisher's loop, or queued as one task per other loop (`EventLoop.execute`).
/// 2. The driver publishes a room's sentinel only after it has received the acks of everything in the
///    room's cut, so every one of those hand-overs happened before the server even read the sentinel.
/// 3. An event loop runs its tasks in the order they were queued, and a connection's frames go out in
///    the order they were queued on its loop: a member's earlier message cannot be overtaken by the
///    sentinel, which is handed to the same loop later.
///
/// One gap remains in (3), and the run closes it with time rather than order: NIO handles a tick's
/// socket reads before that tick's queued tasks, so a sentinel read by the member's own loop in the
/// very tick whose task queue still holds an earlier message's hand-over would be written first. That
/// needs the loop to have slept through the whole ack → driver → sentinel round trip; the driver waits
/// ``SoakPlan/settle`` (seconds) between the last ack and the sentinels, so it cannot happen unless a
/// loop stalls for that long. Should a message still arrive after its member's sentinel it is counted
/// **late** (reported, not lost); a message never seen within ``SoakPlan/lateGrace`` after every
/// sentinel is **lost** and fails the run.
final class DeliveryLedger: Sendable {
    /// What the ledger knows at one moment.
    struct State {
        /// The room of every published message id.
        var roomOf: [Int: Int] = [:]
        /// Ids published and not yet acked whose publisher is still connected.
        var outstanding: Set<Int> = []
        /// Acked ids per room, in the order the acks arrived.
        var acked: [[Int]]
        /// Publishes sent.
        var published = 0
        /// Publishes acked.
        var ackedTotal = 0
        /// Publishes whose publisher hung up before the ack (they may or may not have been delivered).
        var abandoned = 0
        /// Acks of ids the driver never published, or acked twice.
        var strayAcks = 0
        /// The sentinel id of each room that has one.
        var sentinelOfRoom: [Int: Int] = [:]
        /// Per room: how many of its acked ids precede its sentinel.
        var cut: [Int?]
    }

    /// Everything above, behind one lock: a few thousand updates a second do not contend.
    private let state: Mutex<State>
    /// The next message id.
    private let nextID = Atomic<Int>(1)

    /// A ledger for `rooms` rooms.
    init(rooms: Int) {
        state = Mutex(State(acked: Array(repeating: [], count: rooms), cut: Array(repeating: nil, count: rooms)))
    }

    /// A new message id (ids are unique across the run, for every request).
    func makeID() -> Int { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Notes a publish about to be sent.
    func willPublish(id: Int, room: Int) {
        state.withLock {
            $0.roomOf[id] = room
            $0.outstanding.insert(id)
            $0.published += 1
        }
    }

    /// Notes the server's ack of publish `id`; false when the ack was not expected.
    @discardableResult
    func acked(id: Int) -> Bool {
        state.withLock {
            guard $0.outstanding.remove(id) != nil, let room = $0.roomOf[id] else {
                $0.strayAcks += 1
                return false
            }
            $0.acked[room].append(id)
            $0.ackedTotal += 1
            return true
        }
    }

    /// Notes that the publisher of `ids` hung up before their acks: they no longer count as under way.
    func abandon(_ ids: some Sequence<Int>) {
        state.withLock {
            for id in ids where $0.outstanding.remove(id) != nil { $0.abandoned += 1 }
        }
    }

    /// Publishes sent and not yet acked by a connected publisher.
    var outstandingCount: Int { state.withLock { $0.outstanding.count } }

    /// Registers `id` as `room`'s sentinel, fixing the room's cut: the acks received so far.
    func willPublishSentinel(id: Int, room: Int) {
        state.withLock {
            $0.cut[room] = $0.acked[room].count
            $0.sentinelOfRoom[room] = id
            $0.roomOf[id] = room
            $0.outstanding.insert(id)
            $0.published += 1
        }
    }

    /// When `id` is `room`'s sentinel: the ids acked before it, which a member must have seen by now.
    func ackedBeforeSentinel(ifSentinel id: Int, room: Int) -> ArraySlice<Int>? {
        state.withLock {
            guard $0.sentinelOfRoom[room] == id, let cut = $0.cut[room] else { return nil }
            return $0.acked[room][..<cut]
        }
    }

    /// The ids of `room` acked before its sentinel (all of its acked ids when it has none yet).
    func ackedBeforeSentinel(room: Int) -> ArraySlice<Int> {
        state.withLock { $0.acked[room][..<($0.cut[room] ?? $0.acked[room].count)] }
    }

    /// Publishes sent and acked so far (cheap enough for progress lines).
    var progress: (published: Int, acked: Int) { state.withLock { ($0.published, $0.ackedTotal) } }

    /// The ledger now.
    var snapshot: State { state.withLock { $0 } }
}
