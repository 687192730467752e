import Atomics

/// Connections joining a room with history in a cluster, between their membership and their `_joined`,
/// and rooms catching up after a broker outage.
///
/// A member recovering from the shared history must get every frame of the room exactly once: in
/// `_joined` (what the history read found) or live after it. While its read is under way, live frames for
/// it are held back here; ``finish(connection:room:joined:top:)`` sends `_joined`, then the held frames
/// newer than what the read saw, in order. The read's answer and the live frames travel on different
/// connections to Redis, so a frame the read already saw may still arrive live afterwards: for a few
/// seconds after `finish`, frames at or below the read's top are dropped for that member (a *floor*).
/// Rooms catching up after an outage work the same way for all their members. Nothing is looked up
/// while nothing is held and no floor is set (one relaxed atomic load per delivery).
public final class RecoveringMembers: Sendable {
    private struct Key: Hashable {
        let connection: ObjectIdentifier
        let room: String
    }

    /// Frames at or below `top` are duplicates until `until`.
    private struct Floor {
        let top: UInt64
        let until: ContinuousClock.Instant
    }

    private struct Held {
        var members: [Key: [(offset: UInt64, frame: OutboundFrame)]] = [:]
        var rooms: [String: [(offset: UInt64, frame: OutboundFrame)]] = [:]
        var memberFloors: [Key: Floor] = [:]
        var roomFloors: [String: Floor] = [:]

        var isEmpty: Bool { members.isEmpty && rooms.isEmpty && memberFloors.isEmpty && roomFloors.isEmpty }

        /// Drops floors whose time has passed.
        mutating func sweep(now: ContinuousClock.Instant) {
            memberFloors = memberFloors.filter { $0.value.until > now }
            roomFloors = roomFloors.filter { $0.value.until > now }
        }
    }

    /// How long a floor drops late duplicates.
    static let floorLifetime: Duration = .seconds(5)

    /// Whether anything is held or floored (the fast path's only check).
    private let active = ManagedAtomic<Bool>(false)
    private let held = Locked(Held())

    /// No member recovering.
    public init() {}

    /// `connection` starts recovering `room`: call before it becomes a member.
    public func begin(connection: Connection, room: String) {
        held.withLock { held in
            let key = Key(connection: ObjectIdentifier(connection), room: room)
            if held.members[key] == nil { held.members[key] = [] }
            active.store(true, ordering: .relaxed)
        }
    }

    /// Sends the numbered frame at `offset` to `members`, holding it back for members still recovering
    /// `room` and dropping it for those whose floor it is under; returns how many it went to or was held for.
    func deliver(
        _ frame: OutboundFrame, offset: UInt64?, room: String, to members: [Connection], fanOut: any FrameFanOut
    ) -> Int {
        guard active.load(ordering: .relaxed), let offset else {
            fanOut.deliver(frame, to: members)
            return members.count
        }
        // Under the lock, so a member's `finish` (which sends `_joined` and the held frames) never falls
        // between this frame's check and its send.
        return held.withLock { held in
            let now = ContinuousClock.now
            held.sweep(now: now)
            if held.rooms[room] != nil {
                held.rooms[room]!.append((offset, frame))
                return members.count
            }
            if let floor = held.roomFloors[room] {
                if offset <= floor.top, floor.until > now { return members.count }
                held.roomFloors.removeValue(forKey: room)
            }
            var direct: [Connection] = []
            direct.reserveCapacity(members.count)
            for member in members {
                let key = Key(connection: ObjectIdentifier(member), room: room)
                if held.members[key] != nil {
                    held.members[key]!.append((offset, frame))
                    continue
                }
                if let floor = held.memberFloors[key] {
                    if offset <= floor.top, floor.until > now { continue }
                    held.memberFloors.removeValue(forKey: key)
                }
                direct.append(member)
            }
            fanOut.deliver(frame, to: direct)
            if held.isEmpty { active.store(false, ordering: .relaxed) }
            return members.count
        }
    }

    /// Ends `connection`'s recovery of `room`: sends `joined` (nil: nothing, the join failed), then the
    /// frames held back whose offset is above `top` (the read's newest), and delivers live from then on —
    /// but frames at or below `top` that arrive late are dropped.
    public func finish(connection: Connection, room: String, joined: OutboundFrame?, top: UInt64) {
        held.withLock { held in
            let key = Key(connection: ObjectIdentifier(connection), room: room)
            let now = ContinuousClock.now
            held.sweep(now: now)
            guard let frames = held.members.removeValue(forKey: key) else { return }
            if let joined, !connection.isClosed {
                connection.transport.send(joined)
                for (offset, frame) in frames where offset > top { connection.transport.send(frame) }
                held.memberFloors[key] = Floor(top: max(top, frames.last?.offset ?? 0), until: now + Self.floorLifetime)
            }
            active.store(!held.isEmpty, ordering: .relaxed)
        }
    }

    /// The whole room catches up (this node missed frames while the broker was down): live frames for
    /// it are held back until ``finishRoom(_:catchUp:top:members:fanOut:)``.
    public func beginRoom(_ room: String) {
        held.withLock { held in
            if held.rooms[room] == nil { held.rooms[room] = [] }
            active.store(true, ordering: .relaxed)
        }
    }

    /// Continues a room's catch-up: `members` get `catchUp` (the frames missed, which end at `top`), then
    /// the held frames that continue the sequence (`top + 1`, `top + 2`, …). When the held frames leave a
    /// gap (the broker dropped again meanwhile), or `again` says frames may have been missed since, the
    /// room stays held and the answer is the offset to read after next; otherwise the room goes live
    /// (frames at or below the last one sent that arrive late are dropped) and the answer is nil.
    public func continueRoom(
        _ room: String, catchUp: [OutboundFrame], top: UInt64, again: Bool, members: () -> [Connection], fanOut: any FrameFanOut
    ) -> UInt64? {
        held.withLock { held in
            let now = ContinuousClock.now
            held.sweep(now: now)
            guard var frames = held.rooms[room] else { return nil }
            let recipients = members()
            for frame in catchUp { fanOut.deliver(frame, to: recipients) }
            var last = top
            frames.sort { $0.offset < $1.offset }
            var next = frames.startIndex
            while next < frames.endIndex, frames[next].offset <= last + 1 {
                if frames[next].offset == last + 1 {
                    fanOut.deliver(frames[next].frame, to: recipients)
                    last += 1
                }
                next += 1
            }
            if next < frames.endIndex || again {
                held.rooms[room] = Array(frames[next...])
                return last
            }
            held.rooms.removeValue(forKey: room)
            held.roomFloors[room] = Floor(top: last, until: now + Self.floorLifetime)
            active.store(!held.isEmpty, ordering: .relaxed)
            return nil
        }
    }

    /// Ends a room's catch-up that cannot give the frames back: `members` get `notice` (a `_recover`
    /// frame), then every held frame above `top`, and the room goes live.
    public func abandonRoom(_ room: String, notice: OutboundFrame, top: UInt64, members: () -> [Connection], fanOut: any FrameFanOut) {
        held.withLock { held in
            let now = ContinuousClock.now
            held.sweep(now: now)
            guard let frames = held.rooms.removeValue(forKey: room) else { return }
            let recipients = members()
            fanOut.deliver(notice, to: recipients)
            for (offset, frame) in frames.sorted(by: { $0.offset < $1.offset }) where offset > top { fanOut.deliver(frame, to: recipients) }
            held.roomFloors[room] = Floor(top: max(top, frames.map(\.offset).max() ?? 0), until: now + Self.floorLifetime)
            active.store(!held.isEmpty, ordering: .relaxed)
        }
    }
}
