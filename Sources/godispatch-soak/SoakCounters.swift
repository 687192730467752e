import Synchronization

/// The run's event counts at one moment.
struct SoakCounts: Sendable {
    /// WebSocket connections established (initial ones, churn and reconnects).
    var opened = 0
    /// Connections the driver closed with a close frame (and the server's answer).
    var closedCleanly = 0
    /// Connections the driver dropped without a close frame.
    var dropped = 0
    /// Connections the server closed or lost while the driver was not closing them.
    var unexpectedCloses = 0
    /// Clean closes whose close handshake did not finish in time (the socket was then dropped).
    var closeHandshakeTimeouts = 0
    /// Connect attempts that failed (each is retried).
    var connectFailures = 0
    /// Connections given up after every attempt failed.
    var connectGiveUps = 0
    /// `room.join` acks received.
    var joins = 0
    /// `room.leave` acks received.
    var leaves = 0
    /// Joins or leaves not acked in time on a connection that stayed open.
    var ackTimeouts = 0
    /// Room messages delivered to stable connections.
    var deliveredToStable = 0
    /// Room messages delivered to churners.
    var deliveredToChurners = 0
    /// Error frames from the server.
    var serverErrors = 0
    /// Frames the soak did not expect.
    var unexpectedFrames = 0
}

/// The run's event counts, bumped from any task or event loop, and the first few problems in words.
///
/// One lock for all of them: a few thousand bumps a second do not contend.
final class SoakCounters: Sendable {
    /// The counts.
    private let counts = Mutex(SoakCounts())
    /// The problems kept in words and how many were noted.
    private let notes = Mutex<(kept: [String], total: Int)>(([], 0))
    /// How many problems are kept in words.
    let maxNotes = 20

    /// Adds `amount` to one count.
    func bump(_ field: WritableKeyPath<SoakCounts, Int> & Sendable, by amount: Int = 1) {
        counts.withLock { $0[keyPath: field] += amount }
    }

    /// The counts now.
    var snapshot: SoakCounts { counts.withLock { $0 } }

    /// Records a problem in words (the first ``maxNotes`` are printed in the report).
    func note(_ text: String) {
        notes.withLock {
            $0.total += 1
            if $0.kept.count < maxNotes { $0.kept.append(text) }
        }
    }

    /// The problems kept in words, and how many were noted in all.
    var problems: (kept: [String], total: Int) { notes.withLock { $0 } }
}
