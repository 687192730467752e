/// What carries a node's work to the other nodes of a cluster: frames to rooms, and commands on users
/// and connections wherever they are connected.
///
/// Two implementations: ``MemoryBroker`` (one node: everything happens here, at once) and the server
/// layer's Redis broker (several nodes sharing one Redis server). Nothing above this protocol knows which
/// one runs. Operations that finish later report through a ``BrokerWait`` or a completion; the memory
/// broker always finishes at once.
public protocol Broker: LocalMembershipObserver {
    /// Whether other nodes may exist (false for the memory broker: nothing is ever remote).
    var isClustered: Bool { get }

    /// Sends `frame` to the members of `room` on every node (but the connection `excluding`), `here`
    /// being this node. Returns what this node can tell at once: its own recipients, and the frame's place
    /// in the room's stream when it is known now. What finishes later is tracked by `wait`.
    func publish(_ frame: OutboundFrame, toRoom room: String, excluding: Connection?, here: LocalNode, wait: BrokerWait?)
        -> RoomDelivery

    /// Has every other node that holds the command's user (or connection) carry it out; completes with
    /// what they did (nothing, at once, for the memory broker). The caller has already applied the command
    /// to what this node holds.
    func send(_ command: ControlCommand, completion: @escaping @Sendable (Result<ControlTally, BrokerError>) -> Void)

    /// Makes `wait` last until frames published to `room` by any node reach this node (after a first
    /// local member joined, the room's subscription must be confirmed first).
    func awaitRoom(_ room: String, wait: BrokerWait)

    /// Every live node as `info` lists it (name, uid, version, uptime, counts); nil with one node (the
    /// API then describes itself).
    var clusterNodes: [JSONValue]? { get }

    /// Where rooms with history keep it when nodes share it; nil: each node's own streams (one node).
    var history: (any BrokerHistory)? { get }

    /// Where the results of publishes with an idempotency key are kept when nodes share them; nil: each
    /// node keeps its own (one node).
    var idempotency: (any BrokerIdempotency)? { get }

    /// Where every node's presence can be read, for rooms this node may have no member in; nil: this
    /// node's state answers (one node).
    var sharedPresence: (any BrokerPresence)? { get }
}

/// Presence as the whole cluster holds it.
public protocol BrokerPresence: Sendable {
    /// The room's presence over every node (kept as `mode` says: `stats` keeps no info).
    func read(room: String, mode: PresenceMode, completion: @escaping @Sendable (Result<RoomPresence, BrokerError>) -> Void)
}

/// The results of publishes with an idempotency key, kept where every node sees them, so a retry that
/// reaches another node still sends nothing.
public protocol BrokerIdempotency: Sendable {
    /// Claims `key` for `room` for `window`: completes with nil when this call owns it (it publishes, then
    /// ``record(room:key:result:window:)``), or with the result the first publish recorded (empty while that
    /// one is still under way: its outcome is not known yet).
    func claim(room: String, key: String, window: Duration, completion: @escaping @Sendable (Result<[UInt8]?, BrokerError>) -> Void)
    /// Keeps the result of the publish that claimed `key`.
    func record(room: String, key: String, result: [UInt8], window: Duration)
    /// Gives `key` up (its publish failed), so a retry sends again.
    func release(room: String, key: String)
}

/// A room's position and some of its frames, as a shared history store read them.
public struct HistoryRead: Sendable {
    /// The newest frame's position (offset 0 when none was ever published in this epoch).
    public var position: StreamPosition
    /// The frames asked for, each numbered as members received it.
    public var publications: [StoredPublication]

    /// A read at `position` with `publications`.
    public init(position: StreamPosition, publications: [StoredPublication]) {
        self.position = position
        self.publications = publications
    }
}

/// Rooms' histories kept where every node reads them (the cluster broker's Redis streams): frames are
/// numbered there when published, so their offsets and epoch mean the same on every node.
public protocol BrokerHistory: Sendable {
    /// Reads the room's position and frames (kept by `rule`'s `history`): with `reverse` false, the oldest
    /// first after offset `since` (nil: from the oldest held); with `reverse`, the newest first before
    /// `since` (nil: from the newest). `limit` nil or 0: none (only the position); negative: all held.
    func read(
        room: String, rule: RoomRule, since: UInt64?, limit: Int?, reverse: Bool,
        completion: @escaping @Sendable (Result<HistoryRead, BrokerError>) -> Void)

    /// Forgets every frame the room holds; its offset and epoch stay.
    func remove(room: String, completion: @escaping @Sendable (Result<Void, BrokerError>) -> Void)

    /// A member here joined `room` at `position` (its `_joined`): frames after it are what this node must
    /// catch up on should it miss some.
    func noteJoined(room: String, at position: StreamPosition)
}

/// Told when this node's rooms come and go, so the broker listens only to rooms with members here.
///
/// Called under the state core's locks, in the order the changes happen: implementations must not
/// block or call back into the state.
public protocol LocalMembershipObserver: AnyObject, Sendable {
    /// `room` got its first member on this node.
    func roomOpened(_ room: String)
    /// `room` lost its last member on this node.
    func roomClosed(_ room: String)
    /// A connection was registered on this node.
    func connectionOpened(_ connection: Connection)
}

extension LocalMembershipObserver {
    /// Nothing to do by default.
    public func connectionOpened(_ connection: Connection) {}
}

/// One node, no cluster: every operation is done here, at once.
public final class MemoryBroker: Broker {
    /// The broker of a single node.
    public init() {}

    public var isClustered: Bool { false }

    public func publish(_ frame: OutboundFrame, toRoom room: String, excluding: Connection?, here: LocalNode, wait: BrokerWait?)
        -> RoomDelivery
    {
        here.publish(frame, toRoom: room, excluding: excluding?.id)
    }

    public func send(_ command: ControlCommand, completion: @escaping @Sendable (Result<ControlTally, BrokerError>) -> Void) {
        completion(.success(.none))
    }

    public func awaitRoom(_ room: String, wait: BrokerWait) {}
    public func roomOpened(_ room: String) {}
    public func roomClosed(_ room: String) {}
    public var clusterNodes: [JSONValue]? { nil }
    public var history: (any BrokerHistory)? { nil }
    public var idempotency: (any BrokerIdempotency)? { nil }
    public var sharedPresence: (any BrokerPresence)? { nil }
}
