import NIOCore
import Synchronization

/// One socket's place in the handshake: a slot of the ``HandshakeGate`` and a deadline timer. ``finish()`` —
/// at upgrade, or when the ticket is let go, whichever comes first — cancels the timer and frees the slot, once.
///
/// Only the handshake's own handlers hold the ticket. When the socket closes, NIO removes them from the
/// pipeline and the ticket goes with them; once upgraded, they are removed and it goes too. So an upgraded
/// connection keeps nothing of its handshake (no close callback, no timer, no ticket).
final class HandshakeTicket: Sendable {
    private let gate: HandshakeGate
    private let deadline: Scheduled<Void>
    private let finished = Atomic<Bool>(false)

    /// Starts `channel`'s deadline: it is closed if the ticket is not finished within the gate's timeout.
    init(channel: any Channel, gate: HandshakeGate) {
        self.gate = gate
        deadline = channel.eventLoop.scheduleTask(in: gate.timeout) {
            gate.noteTimeout(channel)
            channel.close(promise: nil)
        }
    }

    /// The handshake is over (upgraded, or the socket closed): cancel the deadline and free the slot.
    func finish() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        deadline.cancel()
        gate.leave()
    }

    deinit { finish() }
}
