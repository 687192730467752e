import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Rooms: one `PUBLISH` per publish; every node delivers what comes back from Redis, in Redis' order.
extension RedisBroker {
    public func publish(_ frame: OutboundFrame, toRoom room: String, excluding: Connection?, here: LocalNode, wait: BrokerWait?)
        -> RoomDelivery
    {
        guard isAvailable else {
            let delivery = here.publish(frame, toRoom: room, excluding: excluding?.id)
            wait?.fail(
                .unavailable(
                    "Redis is unreachable: delivered to \(delivery.recipients) connection(s) on this node; "
                        + "other nodes were not reached"))
            return delivery
        }
        let recipients = here.memberCount(ofRoom: room, excluding: excluding)
        // `<excluded connection id>\n<frame>`: the id is empty when nobody is excluded.
        var payload = ByteBuffer()
        payload.reserveCapacity(frame.bytes.count + 17)
        if let excluding { payload.writeString(excluding.id) }
        payload.writeInteger(UInt8(ascii: "\n"))
        payload.writeBytes(frame.bytes)
        wait?.begin()
        commands.send(RedisCommand(["PUBLISH", .string(keys.room(room)), .buffer(payload)])).whenComplete { result in
            switch result {
            case .success:
                wait?.end()
            case .failure(let error):
                // Nobody, this node included, will get it back from Redis: deliver here now.
                let delivered = here.publish(frame, toRoom: room, excluding: excluding?.id).recipients
                self.logger.warning("room publish failed", metadata: ["room": "\(room)", "error": "\(error)"])
                wait?.end(
                    .unavailable(
                        "Redis connection lost while publishing (\(error)): delivered to \(delivered) connection(s) on this "
                            + "node; other nodes may not have it"))
            }
        }
        return RoomDelivery(recipients: recipients, position: nil)
    }

    public func awaitRoom(_ room: String, wait: BrokerWait) {
        guard let subscription = state.withLock({ $0.rooms[room] }) else { return }
        guard isAvailable else {
            wait.fail(
                .unavailable(
                    "joined on this node only: Redis is unreachable, so frames other nodes publish to `\(room)` "
                        + "reach it once Redis is back"))
            return
        }
        guard !subscription.isConfirmed else { return }
        wait.begin()
        subscription.confirmation.whenComplete { result in
            switch result {
            case .success: wait.end()
            case .failure(let error): wait.end(.unavailable("the subscription to room `\(room)` failed: \(error)"))
            }
        }
    }

    public func roomOpened(_ room: String) {
        let confirmation = subscriber.subscribe(.channel(keys.room(room)))
        state.withLock { $0.rooms[room] = RoomSubscription(confirmation) }
    }

    public func roomClosed(_ room: String) {
        state.withLock { _ = $0.rooms.removeValue(forKey: room) }
        _ = subscriber.unsubscribe(.channel(keys.room(room)))
    }

    /// A frame on a room channel: deliver it to the room's members here.
    func receivedRoomFrame(_ payload: ByteBuffer, on channel: String) {
        let room = String(channel.dropFirst(keys.roomChannelPrefix.count).dropLast())
        guard let node = state.withLock({ $0.node }) else { return }
        let view = payload.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            logger.warning("malformed room message ignored", metadata: ["channel": "\(channel)"])
            return
        }
        let excluded = newline == view.startIndex ? nil : String(decoding: view[view.startIndex..<newline], as: UTF8.self)
        let frame = OutboundFrame(bytes: Array(view[(newline + 1)...]))
        _ = node.publish(frame, toRoom: room, excluding: excluded)
    }
}
