/// This node, as the broker sees it: where frames and commands from any node (this one included) take
/// effect on the connections connected here.
public struct LocalNode: Sendable {
    /// The services of this node's engine.
    public let services: EngineServices

    /// This node of `services`' engine.
    public init(services: EngineServices) { self.services = services }

    /// Delivers `frame` to the room's members here (but the connection `excluded`). In a room with history
    /// the frame is numbered (`offset`, `epoch`) and kept, under the room's stream lock — unless the
    /// cluster shares the history (it is then numbered there: see ``deliver(numbered:offset:toRoom:excluding:)``;
    /// what comes here is delivered as it is).
    public func publish(_ frame: OutboundFrame, toRoom room: String, excluding excluded: String?) -> RoomDelivery {
        while services.broker.history == nil, let stream = services.streams.stream(for: room) {
            let published = stream.publish(frame, now: services.clock()) { numbered in
                deliver(numbered, toRoom: room, excluding: excluded)
            }
            if let published { return RoomDelivery(recipients: published.delivered, position: published.position) }
        }
        return RoomDelivery(recipients: deliver(frame, toRoom: room, excluding: excluded), position: nil)
    }

    /// Delivers a frame the shared history numbered (at `offset`) to the room's members here (but
    /// `excluded`), holding it back for members still recovering the room.
    public func deliver(numbered frame: OutboundFrame, offset: UInt64, toRoom room: String, excluding excluded: String?) -> Int {
        var members = services.state.members(ofRoom: room)
        if let excluded { members.removeAll { $0.id == excluded } }
        return services.recovering.deliver(frame, offset: offset, room: room, to: members, fanOut: services.fanOut)
    }

    /// The rule of `room` when it keeps history (found through the streams' per-thread cache: no glob
    /// match per publish).
    public func historyRule(ofRoom room: String) -> RoomRule? {
        services.streams.stream(for: room)?.rule
    }

    private func deliver(_ frame: OutboundFrame, toRoom room: String, excluding excluded: String?) -> Int {
        var members = services.state.members(ofRoom: room)
        if let excluded { members.removeAll { $0.id == excluded } }
        services.fanOut.deliver(frame, to: members)
        return members.count
    }

    /// How many members `room` has here (but `excluded`).
    public func memberCount(ofRoom room: String, excluding excluded: Connection?) -> Int {
        let members = services.state.members(ofRoom: room)
        guard let excluded else { return members.count }
        return members.count { $0 !== excluded }
    }

    /// Carries out a command (from another node) on what this node holds.
    public func apply(_ command: ControlCommand) -> ControlTally {
        let backend = BackendCommands(services: services)
        switch command {
        case .notifyUser(let user, let frame):
            guard services.state.user(id: user) != nil else { return .none }
            return ControlTally(found: true, count: backend.notify(user: user, OutboundFrame(bytes: frame)))
        case .sendConnection(let id, let frame):
            guard let connection = services.state.connection(id: id), !connection.isClosed else { return .none }
            connection.transport.send(OutboundFrame(bytes: frame))
            return ControlTally(found: true, count: 1)
        case .disconnectUser(let user, let code, let reason):
            guard services.state.user(id: user) != nil else { return .none }
            return ControlTally(found: true, count: (try? backend.disconnect(user: user, code: code, reason: reason)) ?? 0)
        case .disconnectConnection(let id, let code, let reason, let user):
            guard let connection = services.state.connection(id: id), !connection.isClosed,
                user == nil || connection.user.id == user
            else { return .none }
            connection.transport.close(code: code, reason: reason)
            return ControlTally(found: true, count: 1)
        case .setPermissions(let user, let update):
            guard (try? backend.setPermissions(user: user, update)) != nil else { return .none }
            return ControlTally(found: true, count: 1)
        case .join(let user, let room, let connection):
            guard holds(user: user, connection: connection) else { return .none }
            return ControlTally(found: true, count: (try? backend.join(user: user, room: room, connection: connection)) ?? 0)
        case .leave(let user, let room, let connection):
            guard holds(user: user, connection: connection) else { return .none }
            return ControlTally(found: true, count: (try? backend.leave(user: user, room: room, connection: connection)) ?? 0)
        }
    }

    /// Whether the user (or its connection `connection`) is connected here.
    private func holds(user: String, connection: String?) -> Bool {
        if let connection { return services.state.connection(id: connection)?.user.id == user }
        return services.state.user(id: user) != nil
    }
}
