import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Presence shared by every node: who is in each room, over all nodes.
///
/// Redis holds one hash per room (connection → `{"n": node, "u": user, "i": info}`). Each change is one
/// script that updates the hash and publishes the change on the room's channel, so every node subscribed
/// to the room sees every change, in one order. A node keeps a mirror of each room it has members in —
/// loaded from the hash once its subscription is confirmed, with the changes that arrive meanwhile held and
/// replayed after — and answers every presence question about those rooms from it, synchronously. The
/// joins and leaves of users (first and last connection over all nodes) become `_presence` diffs for this
/// node's members. A node that stops sending heartbeats has its entries removed by the node that notices.
final class ClusterPresence: PresenceStore, @unchecked Sendable {
    /// One room's presence as this node sees it.
    private struct Mirror {
        var presence: RoomPresence
        /// Until the hash has been read: changes are held, not applied.
        var loading = true
        var held: [Entry] = []
    }

    /// One change of a room's presence.
    enum Entry: Sendable {
        case add(connection: String, user: String, info: [UInt8]?)
        case remove(connection: String, user: String)
    }

    private let mirrors = Locked<[String: Mirror]>([:])
    private let diffs = Locked<PresenceBroadcaster?>(nil)
    weak var broker: RedisBroker?

    // MARK: PresenceStore (the state core calls these under its rooms lock)

    func add(room: String, mode: PresenceMode, user: String, connection: String, info: [UInt8]?) -> PresenceChange? {
        let change = mirrors.withLock { mirrors -> PresenceChange? in
            var mirror = mirrors[room] ?? Mirror(presence: RoomPresence(mode: mode))
            defer { mirrors[room] = mirror }
            guard !mirror.loading else {
                mirror.held.append(.add(connection: connection, user: user, info: info))
                return nil
            }
            return mirror.presence.add(user: user, connection: connection, info: info)
        }
        broker?.publishPresence(room: room, .add(connection: connection, user: user, info: info))
        return change
    }

    func remove(room: String, user: String, connection: String) -> PresenceChange? {
        let change = mirrors.withLock { mirrors -> PresenceChange? in
            guard var mirror = mirrors[room] else { return nil }
            defer { mirrors[room] = mirror }
            guard !mirror.loading else {
                mirror.held.append(.remove(connection: connection, user: user))
                return nil
            }
            return mirror.presence.remove(user: user, connection: connection)
        }
        broker?.publishPresence(room: room, .remove(connection: connection, user: user))
        return change
    }

    func presence(ofRoom room: String) -> RoomPresence? {
        mirrors.withLock { mirrors in
            guard let presence = mirrors[room]?.presence, !presence.isEmpty else { return nil }
            return presence
        }
    }

    // MARK: Mirrors

    /// This node got members in `room` (which keeps presence `mode`): its changes are held until
    /// ``load(room:from:)``.
    func opened(_ room: String, mode: PresenceMode) {
        mirrors.withLock { mirrors in
            if mirrors[room] == nil { mirrors[room] = Mirror(presence: RoomPresence(mode: mode)) }
        }
    }

    /// This node has no members left in `room`: it stops mirroring it.
    func closed(_ room: String) {
        mirrors.withLock { _ = $0.removeValue(forKey: room) }
    }

    /// The room's hash, read after the subscription was confirmed: the mirror starts from it, then the
    /// changes held meanwhile are replayed (adding what is there and removing what is not are no-ops).
    func load(room: String, from entries: [Entry]) {
        mirrors.withLock { mirrors in
            guard var mirror = mirrors[room], mirror.loading else { return }
            var presence = RoomPresence(mode: mirror.presence.mode)
            for entry in entries + mirror.held { Self.apply(entry, to: &presence) }
            mirror = Mirror(presence: presence, loading: false)
            mirrors[room] = mirror
        }
    }

    /// A change published by a node (this one included: its own are already applied and change nothing).
    func received(_ entry: Entry, room: String, node: LocalNode) {
        let change = mirrors.withLock { mirrors -> PresenceChange? in
            guard var mirror = mirrors[room] else { return nil }
            defer { mirrors[room] = mirror }
            guard !mirror.loading else {
                mirror.held.append(entry)
                return nil
            }
            return Self.apply(entry, to: &mirror.presence)
        }
        guard let change else { return }
        let services = node.services
        guard let rule = services.state.rule(ofRoom: room), let member = services.state.members(ofRoom: room).first else { return }
        let broadcaster = diffs.withLock { diffs in
            if diffs == nil { diffs = PresenceBroadcaster(fanOut: services.fanOut) }
            return diffs!
        }
        broadcaster.presenceChanged(change, room: room, rule: rule, executor: member.transport.executor, state: services.state)
    }

    @discardableResult
    private static func apply(_ entry: Entry, to presence: inout RoomPresence) -> PresenceChange? {
        switch entry {
        case .add(let connection, let user, let info): presence.add(user: user, connection: connection, info: info)
        case .remove(let connection, let user): presence.remove(user: user, connection: connection)
        }
    }
}

extension ClusterPresence.Entry {
    /// The change as it travels on a room's channel: `!\n{"op":"+"|"-","c":…,"u":…,"i":…}`.
    var message: [UInt8] {
        var fields: [(String, JSONValue)]
        switch self {
        case .add(let connection, let user, let info):
            fields = [("op", .string("+")), ("c", .string(connection)), ("u", .string(user))]
            if let info, let value = JSONValue(json: info) { fields.append(("i", value)) }
        case .remove(let connection, let user):
            fields = [("op", .string("-")), ("c", .string(connection)), ("u", .string(user))]
        }
        return Array("!\n".utf8) + Array(JSONValue.object(fields).jsonText.utf8)
    }

    /// Reads a change from its JSON (after the `!` line); nil when malformed.
    init?(json: some Collection<UInt8>) {
        guard let value = JSONValue(json: Array(json)), case .string(let op)? = value["op"], case .string(let connection)? = value["c"],
            case .string(let user)? = value["u"]
        else { return nil }
        switch op {
        case "+": self = .add(connection: connection, user: user, info: value["i"].map { Array($0.jsonText.utf8) })
        case "-": self = .remove(connection: connection, user: user)
        default: return nil
        }
    }

    /// An entry of a room's presence hash: field = connection, value = `{"n","u","i"}`.
    init?(connection: String, hashValue: some Collection<UInt8>) {
        guard let value = JSONValue(json: Array(hashValue)), case .string(let user)? = value["u"] else { return nil }
        self = .add(connection: connection, user: user, info: value["i"].map { Array($0.jsonText.utf8) })
    }
}
