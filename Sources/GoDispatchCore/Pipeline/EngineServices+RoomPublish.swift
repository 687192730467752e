/// What a publish to a room did.
public struct RoomDelivery: Sendable, Equatable {
    /// How many connections it went to.
    public var recipients: Int
    /// Its place in the room's stream; nil when the room keeps no history.
    public var position: StreamPosition?
}

extension EngineServices {
    /// Sends `frame` to every member of `room` (but `excluded`): the one path every room publish takes
    /// (actions, server events and the backend API). In a room with history the frame is numbered
    /// (`offset`, `epoch`) and kept, under the room's stream lock.
    public func publish(_ frame: OutboundFrame, toRoom room: String, excluding excluded: Connection? = nil) -> RoomDelivery {
        while let stream = streams.stream(for: room) {
            let published = stream.publish(frame, now: clock()) { numbered in
                deliver(numbered, toRoom: room, excluding: excluded)
            }
            if let published { return RoomDelivery(recipients: published.delivered, position: published.position) }
        }
        return RoomDelivery(recipients: deliver(frame, toRoom: room, excluding: excluded), position: nil)
    }

    private func deliver(_ frame: OutboundFrame, toRoom room: String, excluding excluded: Connection?) -> Int {
        var members = state.members(ofRoom: room)
        if let excluded { members.removeAll { $0 === excluded } }
        fanOut.deliver(frame, to: members)
        return members.count
    }
}
