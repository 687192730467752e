import Foundation
import Synchronization

/// What one member has seen in the current phase. Only its reader task writes it (under its lock); the
/// driver resets it between phases and reads it once a phase has drained.
struct MemberTally {
    var phase = -1
    /// Frames of this phase.
    var received = 0
    /// Frames of another phase (late or misrouted).
    var stray = 0
    /// Frames whose sequence number was not above the last one from the same publisher (duplicate or reordered).
    var outOfOrder = 0
    /// The last sequence number seen from each publisher.
    var lastSeq: [Int] = []
    /// FNV-1a over (publisher, seq) in arrival order: equal on members that saw the same frames in the same order.
    var orderHash: UInt64 = 0xcbf2_9ce4_8422_2325
    /// Record every `sampleEvery`-th frame's latency.
    var sampleEvery = 16
    /// Send→receipt nanoseconds, publisher on this member's node.
    var sameNode: [Int] = []
    /// Send→receipt nanoseconds, publisher on another node.
    var otherNode: [Int] = []

    mutating func reset(phase: Int, publishers: Int, sampleEvery: Int) {
        self = MemberTally()
        self.phase = phase
        self.lastSeq = Array(repeating: -1, count: publishers)
        self.sampleEvery = sampleEvery
    }
}

/// One member: a WebSocket connection to one node, in scenario A's room and one of scenario B's rooms.
final class Member: Sendable {
    let index: Int
    let node: Int
    let roomB: Int
    let tally = Mutex(MemberTally())
    let connection = Mutex<MemberConnection?>(nil)

    init(index: Int, node: Int, roomB: Int) {
        self.index = index
        self.node = node
        self.roomB = roomB
    }
}

/// Every member of a configuration, with the counters the publishers' window and the drain read.
final class Crowd: Sendable {
    let members: [Member]
    /// Frames of the current phase received by all members together.
    private let deliveries = Atomic<Int>(0)
    /// Members whose connection ended.
    let dropped = Atomic<Int>(0)
    /// Error frames members received.
    let errors = Atomic<Int>(0)
    /// The clock every `ts` is read against (publishers and members share this process).
    let epoch: ContinuousClock.Instant
    /// The phase frames are counted for.
    let phase = Atomic<Int>(-1)

    private init(members: [Member], epoch: ContinuousClock.Instant) {
        self.members = members
        self.epoch = epoch
    }

    /// Nanoseconds since `epoch`.
    static func nanoseconds(since epoch: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - epoch
        return Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000)
    }

    var delivered: Int { deliveries.load(ordering: .acquiring) }

    /// Connects `count` members, member i to node `(i / rooms) % nodes` (so every B room has members on every
    /// node, and A's room is split evenly), joins each to `roomA` and to B room `i % rooms`, and waits for
    /// every `joined`.
    static func join(
        count: Int, ports: [Int], roomA: String, roomsB: Int, tokens: [String], epoch: ContinuousClock.Instant
    ) async throws -> Crowd {
        let members = (0..<count).map { index in Member(index: index, node: (index / roomsB) % ports.count, roomB: index % roomsB) }
        let crowd = Crowd(members: members, epoch: epoch)
        let joined = SharedCount()
        let batch = 50
        var start = 0
        while start < count {
            let end = min(count, start + batch)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for member in members[start..<end] {
                    group.addTask {
                        let connection = try await MemberConnection.connect(
                            port: ports[member.node], token: tokens[member.index],
                            onText: { bytes in crowd.received(bytes, by: member, joined: joined) },
                            onClose: { crowd.dropped.add(1, ordering: .relaxed) })
                        member.connection.withLock { $0 = connection }
                    }
                }
                try await group.waitForAll()
            }
            start = end
        }
        for member in members {
            member.connection.withLock { connection in
                connection?.send(texts: [#"{"event":"join","target":"\#(roomA)"}"#, #"{"event":"join","target":"b\#(member.roomB)"}"#])
            }
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while joined.value < 2 * count {
            guard ContinuousClock.now < deadline else {
                throw BenchError("only \(joined.value) of \(2 * count) joins were answered within 120 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return crowd
    }

    /// Starts counting frames of `phase` (earlier phases' frames become stray).
    func begin(phase id: Int, publishers: Int, sampleEvery: Int) {
        for member in members { member.tally.withLock { $0.reset(phase: id, publishers: publishers, sampleEvery: sampleEvery) } }
        deliveries.store(0, ordering: .releasing)
        phase.store(id, ordering: .releasing)
    }

    private static let joinedPrefix = Array(#"{"event":"joined""#.utf8)
    private static let errorPrefix = Array(#"{"event":"error""#.utf8)

    /// One text frame a member received, on its connection's event loop, as it was decoded.
    func received(_ bytes: UnsafeRawBufferPointer, by member: Member, joined: SharedCount) {
        let now = Self.nanoseconds(since: epoch)
        if bytes.starts(with: Self.joinedPrefix) {
            joined.add(1)
            return
        }
        guard let fields = Payload.parse(bytes) else {
            if bytes.starts(with: Self.errorPrefix), errors.add(1, ordering: .relaxed).newValue <= 3 {
                say("member \(member.index): \(String(decoding: bytes, as: UTF8.self))")
            }
            return
        }
        let counted = member.tally.withLock { tally -> Bool in
            guard fields.phase == tally.phase else {
                tally.stray += 1
                return false
            }
            tally.received += 1
            if fields.publisher < tally.lastSeq.count {
                if fields.seq <= tally.lastSeq[fields.publisher] { tally.outOfOrder += 1 }
                tally.lastSeq[fields.publisher] = fields.seq
            }
            for value in [fields.publisher, fields.seq] {
                tally.orderHash = (tally.orderHash ^ UInt64(truncatingIfNeeded: value)) &* 0x100_0000_01b3
            }
            if tally.received % tally.sampleEvery == 0 {
                if fields.node == member.node { tally.sameNode.append(now - fields.ts) } else { tally.otherNode.append(now - fields.ts) }
            }
            return true
        }
        if counted { deliveries.add(1, ordering: .relaxed) }
    }

    /// Waits until `expected` frames of the current phase have arrived, or none arrived for `quiet`.
    /// Returns whether all arrived.
    func drain(expected: Int, quiet: Duration, limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        var last = delivered
        var lastChange = ContinuousClock.now
        while delivered < expected {
            let now = ContinuousClock.now
            if delivered != last {
                last = delivered
                lastChange = now
            }
            if now - lastChange > quiet || now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Closes every member.
    func leave() async {
        for member in members {
            if let connection = member.connection.withLock({ $0 }) { await connection.close() }
        }
    }
}

/// The numbers a publish carries: `{"ph":…,"p":…,"n":…,"s":…,"ts":…,"x":"…"}` (phase, publisher, publisher's
/// node, sequence number per publisher, send time in ns since the epoch — the *intended* time at a fixed
/// rate, so a late send counts against latency — and padding to the payload size).
struct Payload {
    let phase: Int
    let publisher: Int
    let node: Int
    let seq: Int
    let ts: Int

    /// The payload JSON, padded with `x` to `size` bytes when it is shorter.
    static func json(phase: Int, publisher: Int, node: Int, seq: Int, ts: Int, size: Int) -> String {
        let head = #"{"ph":\#(phase),"p":\#(publisher),"n":\#(node),"s":\#(seq),"ts":\#(ts),"x":""#
        let padding = max(0, size - head.utf8.count - 2)
        return head + String(repeating: "x", count: padding) + #""}"#
    }

    /// The five numbers after `"ph":` in a frame, in the order `json` writes them.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Payload? {
        let key: [UInt8] = [0x22, 0x70, 0x68, 0x22, 0x3a]  // "ph":
        let count = bytes.count
        var index = 0
        search: while index + key.count <= count {
            for offset in 0..<key.count where bytes[index + offset] != key[offset] {
                index += 1
                continue search
            }
            break
        }
        guard index + key.count <= count else { return nil }
        index += key.count
        var numbers = (0, 0, 0, 0, 0)
        for slot in 0..<5 {
            while index < count, !(48...57).contains(bytes[index]) { index += 1 }
            guard index < count else { return nil }
            var value = 0
            while index < count, (48...57).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 48)
                index += 1
            }
            switch slot {
            case 0: numbers.0 = value
            case 1: numbers.1 = value
            case 2: numbers.2 = value
            case 3: numbers.3 = value
            default: numbers.4 = value
            }
        }
        return Payload(phase: numbers.0, publisher: numbers.1, node: numbers.2, seq: numbers.3, ts: numbers.4)
    }
}

/// A count shared between tasks.
final class SharedCount: Sendable {
    private let atomic = Atomic<Int>(0)
    var value: Int { atomic.load(ordering: .acquiring) }
    func add(_ amount: Int) { atomic.add(amount, ordering: .relaxed) }
}
