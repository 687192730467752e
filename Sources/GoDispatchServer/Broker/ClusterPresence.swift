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
        /// Which opening of the room this mirror belongs to (a load for an earlier one is stale).
        var generation = 0
    }

    private let generations = Locked(0)

    /// One change of a room's presence.
    enum Entry: Sendable {
        case add(connection: String, user: String, info: [UInt8]?)
        case remove(connection: String, user: String)
    }

    private let mirrors = Locked<[String: Mirror]>([:])
    /// This node's own entries per room (connection → user, info): what it re-asserts after an outage.
    private let local = Locked<[String: [String: (user: String, info: [UInt8]?)]]>([:])
    private let diffs = Locked<PresenceBroadcaster?>(nil)
    weak var broker: RedisBroker?

    // MARK: PresenceStore (the state core calls these under its rooms lock)

    func add(room: String, mode: PresenceMode, user: String, connection: String, info: [UInt8]?) -> PresenceChange? {
        local.withLock { $0[room, default: [:]][connection] = (user, info) }
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
        local.withLock { local in
            local[room]?.removeValue(forKey: connection)
            if local[room]?.isEmpty == true { local.removeValue(forKey: room) }
        }
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
    /// Returns the mirror's generation, which its load must name.
    func opened(_ room: String, mode: PresenceMode) -> Int {
        let generation = generations.withLock { value -> Int in
            value += 1
            return value
        }
        mirrors.withLock { mirrors in
            mirrors[room] = Mirror(presence: RoomPresence(mode: mode), generation: generation)
        }
        return generation
    }

    /// This node has no members left in `room`: it stops mirroring it.
    func closed(_ room: String) {
        mirrors.withLock { _ = $0.removeValue(forKey: room) }
    }

    /// This node's own entries, by room (to publish again after an outage).
    var localEntries: [String: [Entry]] {
        local.withLock { local in
            local.mapValues { entries in entries.map { Entry.add(connection: $0.key, user: $0.value.user, info: $0.value.info) } }
        }
    }

    /// The rooms mirrored here.
    var mirroredRooms: [String] { mirrors.withLock { Array($0.keys) } }

    /// Starts reloading `room` (after an outage: changes other nodes made meanwhile were missed): changes
    /// are held until ``reload(room:from:node:)``.
    func beginReload(_ room: String) {
        mirrors.withLock { mirrors in
            guard var mirror = mirrors[room], !mirror.loading else { return }
            mirror.loading = true
            mirror.held = []
            mirrors[room] = mirror
        }
    }

    /// Rebuilds `room`'s mirror from Redis (plus this node's own entries and the changes held), telling
    /// this node's members who joined and left while it was cut off.
    /// With `entries` nil (Redis could not be read) the mirror goes on from what it had, plus what was held.
    func reload(room: String, from entries: [Entry]?, node: LocalNode) {
        let own = local.withLock { $0[room] ?? [:] }
        let changes = mirrors.withLock { mirrors -> [PresenceChange] in
            guard let old = mirrors[room], old.loading else { return [] }
            var presence = entries == nil ? old.presence : RoomPresence(mode: old.presence.mode)
            for entry in (entries ?? []) + own.map({ Entry.add(connection: $0.key, user: $0.value.user, info: $0.value.info) }) + old.held {
                Self.apply(entry, to: &presence)
            }
            mirrors[room] = Mirror(presence: presence, loading: false, generation: old.generation)
            let before = Set(old.presence.users.keys)
            let after = Set(presence.users.keys)
            return before.subtracting(after).sorted().map { PresenceChange.left(user: $0, info: old.presence.users[$0]?.info) }
                + after.subtracting(before).sorted().map { PresenceChange.joined(user: $0, info: presence.users[$0]?.info) }
        }
        for change in changes { announce(change, room: room, node: node) }
    }

    /// The room's hash, read after the subscription was confirmed: the mirror starts from it, then the
    /// changes held meanwhile are replayed (adding what is there and removing what is not are no-ops).
    func load(room: String, generation: Int, from entries: [Entry]) {
        mirrors.withLock { mirrors in
            guard var mirror = mirrors[room], mirror.loading, mirror.generation == generation else { return }
            var presence = RoomPresence(mode: mirror.presence.mode)
            for entry in entries + mirror.held { Self.apply(entry, to: &presence) }
            mirror = Mirror(presence: presence, loading: false, generation: generation)
            mirrors[room] = mirror
        }
    }

    /// A change published by another node (this node's own are applied when they happen: its mirror is the
    /// authority on its own connections, so their echoes, and removals another node makes of them, are
    /// ignored).
    func received(_ entry: Entry, from origin: String?, room: String, node: LocalNode, identity: String) {
        if origin == identity { return }
        if case .remove(let connection, _) = entry, local.withLock({ $0[room]?[connection] != nil }) { return }
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
        announce(change, room: room, node: node)
    }

    /// Tells this node's members of `room` about a change (coalesced into `_presence` diffs).
    private func announce(_ change: PresenceChange, room: String, node: LocalNode) {
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
    /// The change as it travels on a room's channel: `!\n{"op":"+"|"-","c":…,"u":…,"i":…,"n":node}`.
    func message(node: String) -> [UInt8] {
        var fields: [(String, JSONValue)]
        switch self {
        case .add(let connection, let user, let info):
            fields = [("op", .string("+")), ("c", .string(connection)), ("u", .string(user))]
            if let info, let value = JSONValue(json: info) { fields.append(("i", value)) }
        case .remove(let connection, let user):
            fields = [("op", .string("-")), ("c", .string(connection)), ("u", .string(user))]
        }
        fields.append(("n", .string(node)))
        return Array("!\n".utf8) + Array(JSONValue.object(fields).jsonText.utf8)
    }

    /// Reads a change from its JSON (after the `!` line), with the node that made it; nil when malformed.
    static func parse(_ json: some Collection<UInt8>) -> (entry: Self, node: String?)? {
        guard let value = JSONValue(json: Array(json)), let entry = Self(value) else { return nil }
        guard case .string(let node)? = value["n"] else { return (entry, nil) }
        return (entry, node)
    }

    private init?(_ value: JSONValue) {
        guard case .string(let op)? = value["op"], case .string(let connection)? = value["c"], case .string(let user)? = value["u"]
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
