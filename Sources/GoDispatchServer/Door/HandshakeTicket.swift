import NIOCore
import Synchronization

/// One socket's place in the handshake: a slot of the ``HandshakeGate`` and a deadline timer. ``finish()`` —
/// at upgrade, or when the socket closes, whichever comes first — cancels the timer and frees the slot, once.
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
}
