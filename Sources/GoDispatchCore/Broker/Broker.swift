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
}
