import Logging
import NIOCore
import Synchronization

/// The door every socket passes before its WebSocket upgrade: at most `server.max_pending_handshakes`
/// sockets may be in their handshake at once, server-wide, and each has `server.handshake_timeout` to
/// finish it (upgraded, or its plain HTTP request answered) before it is closed. A slowloris — a socket
/// that sends half a request and then nothing — therefore holds a slot for at most the timeout, and a
/// flood of them cannot hold more than the cap.
///
/// **Policy when full: refuse the newcomer.** A socket accepted while the count is at the cap is closed at
/// once, before anything is read from it; the refusal is counted and logged as a warning at most once per
/// ``warningInterval``. Evicting the oldest pending socket instead was considered and rejected:
/// - it does not favour honest clients: under a flood the oldest pending sockets are the attacker's as
///   often as the new ones, and eviction turns every handshake into a race against the flood's rate,
///   while refusal keeps whoever is already in line — honest clients included — until their own deadline;
/// - refusal is one atomic add and a close on the accepting loop; eviction needs a server-wide ordered
///   structure and a hop to another loop to close a channel there;
/// - slots free themselves: no pending socket outlives `handshake_timeout`, so a refused client that
///   retries gets in within seconds of the flood's end.
/// Neither policy survives a flood that outpaces the timeout from many addresses; that is the job of
/// `connections.per_ip` and of a proxy in front.
final class HandshakeGate: Sendable {
    /// Most sockets in their handshake at once.
    let limit: Int
    /// How long a socket may take to finish its handshake.
    let timeout: TimeAmount
    private let logger: Logger
    private let pendingCount = Atomic<Int>(0)
    private let refusedCount = Atomic<Int>(0)
    private let timedOutCount = Atomic<Int>(0)
    /// When (uptime nanoseconds) the next refusal may be logged as a warning.
    private let nextWarning = Atomic<UInt64>(0)

    /// Refusals are logged as a warning at most this often (each warning carries the running total).
    static let warningInterval: TimeAmount = .seconds(10)

    /// A gate for `limit` pending handshakes of `timeout` each.
    init(limit: Int, timeout: TimeAmount, logger: Logger) {
        self.limit = limit
        self.timeout = timeout
        self.logger = logger
    }

    /// Sockets in their handshake now.
    var pending: Int { pendingCount.load(ordering: .relaxed) }
    /// Sockets refused since start because the gate was full.
    var refused: Int { refusedCount.load(ordering: .relaxed) }
    /// Sockets closed since start because their handshake took longer than ``timeout``.
    var timedOut: Int { timedOutCount.load(ordering: .relaxed) }

    /// Lets a newly accepted `channel` start its handshake — its ticket starts the deadline and gives the
    /// slot back when finished or let go (the caller's handshake handlers must be its only holders) — or
    /// returns nil when the gate is full (the caller closes it).
    func admit(_ channel: any Channel) -> HandshakeTicket? {
        guard pendingCount.wrappingAdd(1, ordering: .relaxed).newValue <= limit else {
            pendingCount.wrappingSubtract(1, ordering: .relaxed)
            noteRefusal()
            return nil
        }
        return HandshakeTicket(channel: channel, gate: self)
    }

    /// A ticket is finished: its slot is free again.
    func leave() { pendingCount.wrappingSubtract(1, ordering: .relaxed) }

    /// A socket ran out of time in its handshake.
    func noteTimeout(_ channel: any Channel) {
        let total = timedOutCount.wrappingAdd(1, ordering: .relaxed).newValue
        logger.debug(
            "handshake timed out; closing the socket",
            metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")", "timed_out_total": "\(total)"])
    }

    private func noteRefusal() {
        let total = refusedCount.wrappingAdd(1, ordering: .relaxed).newValue
        let now = NIODeadline.now().uptimeNanoseconds
        let due = nextWarning.load(ordering: .relaxed)
        guard now >= due,
            nextWarning.compareExchange(
                expected: due, desired: now + UInt64(Self.warningInterval.nanoseconds), ordering: .relaxed
            ).exchanged
        else { return }
        logger.warning(
            "too many connections in their handshake; refusing new sockets",
            metadata: ["limit": "\(limit)", "refused_total": "\(total)", "setting": "server.max_pending_handshakes"])
    }
}
