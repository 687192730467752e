import Foundation
import GoDispatchClient
import Synchronization

/// A publisher: a WebSocket connection to one node, a member of no room (`allow_non_member`).
final class PublisherConnection: Sendable {
    let index: Int
    let node: Int
    let client: WebSocketClient
    let errors = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    /// The next sequence number (per publisher, across phases: the members check it only grows).
    let nextSeq = Atomic<Int>(0)

    init(index: Int, node: Int, client: WebSocketClient) {
        self.index = index
        self.node = node
        self.client = client
    }

    /// Reads what the node sends this publisher (nothing but errors, normally) until the connection ends.
    func watch() {
        Task {
            for await event in client.events {
                switch event {
                case .text(let text) where text.hasPrefix(#"{"event":"error""#):
                    if errors.add(1, ordering: .relaxed).newValue <= 3 { say("publisher \(index): \(text)") }
                case .close, .disconnected:
                    closed.store(true, ordering: .relaxed)
                default: continue
                }
            }
        }
    }

    func publish(room: String, phase: Int, ts: Int, payloadSize: Int) async throws {
        let seq = nextSeq.add(1, ordering: .relaxed).oldValue
        let payload = Payload.json(phase: phase, publisher: index, node: node, seq: seq, ts: ts, size: payloadSize)
        try await client.send(text: #"{"event":"publish","target":"\#(room)","payload":"# + payload + "}")
    }
}

/// What the publishers of one phase did.
struct PublishOutcome {
    var publishes = 0
    /// Deliveries these publishes should make: each publish × the members of its room.
    var expected = 0
    /// The window stayed full with no delivery for the stall time: the phase stopped early.
    var stalled = false
    /// How long publishing took.
    var elapsed: Duration = .zero
    /// At a fixed rate: how late each send left against its intended instant (ns), the driver's own delay.
    var sendLag: [Int] = []
}

/// Scenario A's shape: every publisher into one room as fast as the members keep up — at most `window`
/// publishes (all publishers together) sent and not yet received by every member.
func publishAtMaxRate(
    publishers: [PublisherConnection], crowd: Crowd, room: String, phase: Int, window: Int, duration: Duration,
    payloadSize: Int, stallAfter: Duration = .seconds(5)
) async throws -> PublishOutcome {
    let perPublish = crowd.members.count
    let sent = SharedCount()
    let stalled = SharedFlag()
    let started = ContinuousClock.now
    let deadline = started + duration
    try await withThrowingTaskGroup(of: Void.self) { group in
        for publisher in publishers {
            group.addTask {
                var waitingSince: ContinuousClock.Instant?
                var deliveredThen = 0
                while ContinuousClock.now < deadline, !stalled.isSet {
                    let delivered = crowd.delivered
                    if sent.value * perPublish - delivered >= window * perPublish {
                        let now = ContinuousClock.now
                        if waitingSince == nil || delivered != deliveredThen {
                            waitingSince = now
                            deliveredThen = delivered
                        } else if let since = waitingSince, now - since > stallAfter {
                            stalled.set()
                            break
                        }
                        try await Task.sleep(for: .microseconds(100))
                        continue
                    }
                    waitingSince = nil
                    sent.add(1)
                    try await publisher.publish(
                        room: room, phase: phase, ts: Crowd.nanoseconds(since: crowd.epoch), payloadSize: payloadSize)
                }
            }
        }
        try await group.waitForAll()
    }
    let count = sent.value
    return PublishOutcome(
        publishes: count, expected: count * perPublish, stalled: stalled.isSet, elapsed: ContinuousClock.now - started)
}

/// Scenario B's shape: `rate` publishes per second in all, shared evenly by the publishers, each publishing
/// round-robin into its rooms (room r belongs to publisher r % publishers). Sends are scheduled at fixed
/// instants and carry the intended instant, so a late send shows as latency (no coordinated omission).
func publishAtFixedRate(
    publishers: [PublisherConnection], crowd: Crowd, rooms: Int, roomSizes: [Int], phase: Int, rate: Int,
    duration: Duration, payloadSize: Int
) async throws -> PublishOutcome {
    let started = ContinuousClock.now
    let deadline = started + duration
    let perPublisher = Double(rate) / Double(publishers.count)
    let interval = Duration.nanoseconds(Int64(1e9 / perPublisher))
    let totals = try await withThrowingTaskGroup(of: (Int, Int, [Int]).self) { group in
        for publisher in publishers {
            let owned = (0..<rooms).filter { $0 % publishers.count == publisher.index }
            guard !owned.isEmpty else { continue }
            group.addTask {
                // Spread the publishers' start instants over one interval.
                var next = started + interval * publisher.index / publishers.count
                var (sent, expected, turn) = (0, 0, 0)
                var lags: [Int] = []
                while next < deadline {
                    if next > ContinuousClock.now { try await Task.sleep(until: next, tolerance: .microseconds(50), clock: .continuous) }
                    let room = owned[turn % owned.count]
                    turn += 1
                    let intended = Int((next - crowd.epoch).components.seconds) * 1_000_000_000
                        + Int((next - crowd.epoch).components.attoseconds / 1_000_000_000)
                    lags.append(Crowd.nanoseconds(since: crowd.epoch) - intended)
                    try await publisher.publish(room: "b\(room)", phase: phase, ts: intended, payloadSize: payloadSize)
                    sent += 1
                    expected += roomSizes[room]
                    next += interval
                }
                return (sent, expected, lags)
            }
        }
        var totals = (0, 0, [Int]())
        for try await (sent, expected, lags) in group { totals = (totals.0 + sent, totals.1 + expected, totals.2 + lags) }
        return totals
    }
    return PublishOutcome(
        publishes: totals.0, expected: totals.1, stalled: false, elapsed: ContinuousClock.now - started, sendLag: totals.2.sorted())
}

/// A flag shared between tasks, set once.
final class SharedFlag: Sendable {
    private let atomic = Atomic<Bool>(false)
    var isSet: Bool { atomic.load(ordering: .acquiring) }
    func set() { atomic.store(true, ordering: .releasing) }
}
