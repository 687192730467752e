import GoDispatchLoadDriver
import Foundation
import Synchronization

/// Watches the run from the side: a progress line every ``SoakPlan/progressInterval``, the peak RSS, and
/// the server's death, which ends the run at once with its log (nothing after it could be measured).
final class SoakMonitor: Sendable {
    /// The server watched.
    private let server: ServerProcess
    /// The counts the progress lines show.
    private let counters: SoakCounters
    /// The publishes and acks the progress lines show.
    private let ledger: DeliveryLedger
    /// When the run began: progress lines are stamped from here.
    private let began = ContinuousClock.now
    /// The phase under way, in words.
    private let phase = Mutex("starting")
    /// The highest RSS sampled.
    private let peak = Atomic<Int>(0)

    /// A monitor of `server`.
    init(server: ServerProcess, counters: SoakCounters, ledger: DeliveryLedger) {
        self.server = server
        self.counters = counters
        self.ledger = ledger
    }

    /// Names the phase the progress lines report, and prints that it began.
    func enter(_ name: String) {
        phase.withLock { $0 = name }
        log("\(name)")
    }

    /// The highest RSS sampled so far.
    var peakRSS: Int { peak.load(ordering: .relaxed) }

    /// Samples the server now (nil if it is gone), keeping the peak RSS.
    func sample() -> ResourceSample? {
        guard let sample = ProcessProbe.sample(pid: server.pid, port: server.port) else { return nil }
        peak.max(sample.rss, ordering: .relaxed)
        return sample
    }

    /// Prints one line, stamped with the time since the run began.
    func log(_ text: String) {
        let elapsed = (ContinuousClock.now - began).seconds
        say(String(format: "[%6.1fs] ", elapsed) + text)
    }

    /// Runs until cancelled: checks the server every second, prints progress every `interval`.
    func run(interval: Duration) async {
        var nextLine = ContinuousClock.now + interval
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if let ended = server.exitDescription() {
                log("FAIL: the server \(ended) during the run (\(phase.withLock { $0 })); the end of its log:")
                say(server.logTail(lines: 40))
                exit(1)
            }
            guard ContinuousClock.now >= nextLine else { continue }
            nextLine = ContinuousClock.now + interval
            let counts = counters.snapshot
            let ledger = self.ledger.progress
            let server =
                sample().map {
                    "rss \(ProcessProbe.mebibytes($0.rss)), fds \($0.fds), connections \($0.connections)"
                } ?? "gone"
            log(
                "\(phase.withLock { $0 }): opened \(counts.opened), published \(ledger.published), "
                    + "acked \(ledger.acked), delivered \(counts.deliveredToStable + counts.deliveredToChurners) "
                    + "| server \(server) | load \(ProcessProbe.loadAverage())")
        }
    }
}

/// Writes a line to stdout at once, unbuffered: progress must show while the run goes on, even into a pipe.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
