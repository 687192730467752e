/// What a publish to a room did.
public struct RoomDelivery: Sendable, Equatable {
    /// How many connections it went to (on this node: other nodes count their own).
    public var recipients: Int
    /// Its place in the room's stream; nil when the room keeps no history (or the place is decided
    /// later, on another node's side of the broker).
    public var position: StreamPosition?

    /// A delivery to `recipients` connections, at `position` in the room's stream (nil: none, or not
    /// known yet).
    public init(recipients: Int, position: StreamPosition?) {
        self.recipients = recipients
        self.position = position
    }
}

extension EngineServices {
    /// This node, as the broker sees it.
    public var here: LocalNode { LocalNode(services: self) }

    /// Sends `frame` to every member of `room` (but `excluded`) on every node: the one path every room
    /// publish takes (actions, server events and the backend API). In a room with history the frame is
    /// numbered (`offset`, `epoch`) and kept, under the room's stream lock. What the broker finishes
    /// later (another node's share) is tracked by `wait`.
    public func publish(
        _ frame: OutboundFrame, toRoom room: String, excluding excluded: Connection? = nil, wait: BrokerWait? = nil
    ) -> RoomDelivery {
        broker.publish(frame, toRoom: room, excluding: excluded, here: here, wait: wait)
    }
}
