import Atomics

/// Connections joining a room with history in a cluster, between their membership and their `_joined`.
///
/// A member recovering from the shared history must get every frame of the room exactly once: in
/// `_joined` (what the history read found) or live after it. While its read is under way, live frames for
/// it are held back here; ``finish(connection:room:joined:top:)`` sends `_joined`, then the held frames
/// newer than what the read saw, in order. Nothing is looked up while no member is recovering (one
/// relaxed atomic load per delivery).
public final class RecoveringMembers: Sendable {
    private struct Key: Hashable {
        let connection: ObjectIdentifier
        let room: String
    }

    private struct Held {
        var members: [Key: [(offset: UInt64, frame: OutboundFrame)]] = [:]
        var rooms: [String: [(offset: UInt64, frame: OutboundFrame)]] = [:]
    }

    private let recovering = ManagedAtomic<Int>(0)
    private let held = Locked(Held())

    /// No member recovering.
    public init() {}

    /// `connection` starts recovering `room`: call before it becomes a member.
    public func begin(connection: Connection, room: String) {
        held.withLock { held in
            let key = Key(connection: ObjectIdentifier(connection), room: room)
            guard held.members[key] == nil else { return }
            held.members[key] = []
            recovering.wrappingIncrement(ordering: .relaxed)
        }
    }

    /// Sends the numbered frame at `offset` to `members` (but `excluded`), holding it back for members
    /// still recovering `room`; returns how many it went to or was held for.
    func deliver(
        _ frame: OutboundFrame, offset: UInt64?, room: String, to members: [Connection], fanOut: any FrameFanOut
    ) -> Int {
        guard recovering.load(ordering: .relaxed) > 0, let offset else {
            fanOut.deliver(frame, to: members)
            return members.count
        }
        // Under the lock, so a member's `finish` (which sends `_joined` and the held frames) never falls
        // between this frame's check and its send.
        return held.withLock { held in
            if held.rooms[room] != nil {
                held.rooms[room]!.append((offset, frame))
                return members.count
            }
            var direct: [Connection] = []
            direct.reserveCapacity(members.count)
            for member in members {
                let key = Key(connection: ObjectIdentifier(member), room: room)
                if held.members[key] != nil {
                    held.members[key]!.append((offset, frame))
                } else {
                    direct.append(member)
                }
            }
            fanOut.deliver(frame, to: direct)
            return members.count
        }
    }

    /// Ends `connection`'s recovery of `room`: sends `joined` (nil: nothing, the join failed), then the
    /// frames held back whose offset is above `top` (the read's newest), and delivers live from then on.
    public func finish(connection: Connection, room: String, joined: OutboundFrame?, top: UInt64) {
        held.withLock { held in
            guard let frames = held.members.removeValue(forKey: Key(connection: ObjectIdentifier(connection), room: room)) else { return }
            recovering.wrappingDecrement(ordering: .relaxed)
            guard let joined, !connection.isClosed else { return }
            connection.transport.send(joined)
            for (offset, frame) in frames where offset > top { connection.transport.send(frame) }
        }
    }

    /// The whole room catches up (this node missed frames while the broker was down): live frames for
    /// it are held back until ``finishRoom(_:catchUp:top:members:fanOut:)``.
    public func beginRoom(_ room: String) {
        held.withLock { held in
            guard held.rooms[room] == nil else { return }
            held.rooms[room] = []
            recovering.wrappingIncrement(ordering: .relaxed)
        }
    }

    /// Ends a room's catch-up: `members` get `catchUp` (the frames missed, or a `_recover` frame when
    /// they cannot be given back), then the held frames above `top`; later frames go live.
    public func finishRoom(_ room: String, catchUp: [OutboundFrame], top: UInt64, members: () -> [Connection], fanOut: any FrameFanOut) {
        held.withLock { held in
            guard let frames = held.rooms.removeValue(forKey: room) else { return }
            recovering.wrappingDecrement(ordering: .relaxed)
            let recipients = members()
            for frame in catchUp { fanOut.deliver(frame, to: recipients) }
            for (offset, frame) in frames where offset > top { fanOut.deliver(frame, to: recipients) }
        }
    }
}
