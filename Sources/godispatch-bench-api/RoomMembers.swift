import Foundation
import GoDispatchClient
import Synchronization

/// The members of the benchmark room: real WebSocket connections that read every frame, count the
/// deliveries and, for every 16th publish, record how long it took from send to receipt.
final class RoomMembers: Sendable {
    /// How many members.
    let count: Int
    private let deliveries = Atomic<Int>(0)
    private let samples = Mutex<[Int]>([])
    private let clients: [WebSocketClient]
    /// The clock every `ts` is read against (the publishers share it: one process).
    let epoch: ContinuousClock.Instant

    private init(clients: [WebSocketClient], epoch: ContinuousClock.Instant) {
        self.count = clients.count
        self.clients = clients
        self.epoch = epoch
    }

    /// Nanoseconds since ``epoch``, the `ts` publishers put in their payloads.
    static func nanoseconds(since epoch: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - epoch
        return Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000)
    }

    /// Connects `count` members to `room` and waits until every one has joined.
    static func join(
        count: Int, room: String, port: Int, tokens: [String], epoch: ContinuousClock.Instant
    ) async throws -> RoomMembers {
        var clients: [WebSocketClient] = []
        for index in 0..<count {
            clients.append(
                try await WebSocketClient.connect(
                    host: "127.0.0.1", port: port, path: "/ws", headers: [("Authorization", "Bearer \(tokens[index])")]))
        }
        let members = RoomMembers(clients: clients, epoch: epoch)
        let joined = Counter()
        for client in clients {
            let events = client.events
            Task { await members.read(events, joined: joined) }
            try await client.send(text: #"{"event":"join","target":"\#(room)"}"#)
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while joined.value < count {
            guard ContinuousClock.now < deadline else {
                throw BenchError("only \(joined.value) of \(count) members joined within 120 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return members
    }

    private func read(_ events: AsyncStream<ClientEvent>, joined: Counter) async {
        var received = 0
        for await event in events {
            guard case .text(let text) = event else { continue }
            if text.hasPrefix(#"{"event":"joined""#) {
                joined.add(1)
                continue
            }
            deliveries.add(1, ordering: .relaxed)
            received += 1
            // Every member gets every publish in order, so every 16th frame is every 16th publish.
            guard received % 16 == 0, let sent = Self.number(in: text, after: #""ts":"#) else { continue }
            let latency = Self.nanoseconds(since: epoch) - sent
            samples.withLock { $0.append(latency) }
        }
    }

    /// The digits after `key` in `text` as a number.
    static func number(in text: String, after key: String) -> Int? {
        guard let range = text.range(of: key) else { return nil }
        var (value, digits) = (0, 0)
        for byte in text[range.upperBound...].utf8 {
            guard (48...57).contains(byte) else { break }
            value = value * 10 + Int(byte - 48)
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// Frames received so far (all members together).
    var delivered: Int { deliveries.load(ordering: .acquiring) }

    /// Takes the latency samples recorded since the last call.
    func takeSamples() -> [Int] { samples.withLock { samples in defer { samples = [] }; return samples } }

    /// Waits until `publishes` publishes have reached every member (or `timeout` passes).
    func waitForAll(_ publishes: Int, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while delivered < publishes * count {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Closes every member.
    func leave() async {
        for client in clients { await client.disconnect() }
    }
}

/// Why the benchmark could not run.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A shared count.
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)
    /// The count now.
    var value: Int { atomic.load(ordering: .acquiring) }
    /// Adds `amount`; returns the count before.
    @discardableResult func add(_ amount: Int) -> Int { atomic.add(amount, ordering: .acquiringAndReleasing).oldValue }
}
