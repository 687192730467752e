/// `broker:` — what carries rooms, users, presence, history and control messages between nodes.
///
/// `memory` (the default) is one node: everything stays in this process. `redis` makes the node one of
/// many sharing a Redis server: see docs/SCALING.md.
public struct BrokerSettings: Sendable, Equatable {
    /// Which broker runs.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// One node, all state in this process.
        case memory
        /// Several nodes sharing one Redis server.
        case redis
    }

    /// `broker.type`.
    public var kind: Kind = .memory
    /// `broker.url`: `redis://[[user]:password@]host[:port][/db]` (checked by the server, which reads it).
    public var url: String = "redis://127.0.0.1:6379/0"
    /// Where `broker.url` is written, so a bad URL is reported at its line.
    public var urlLocation: SourceLocation?
    /// `broker.prefix`: the first part of every Redis key and channel, so several deployments can share
    /// one Redis server.
    public var prefix: String = "godispatch"
    /// `broker.node_name`: how this node names itself in `info` and in logs; empty means the WebSocket
    /// listener's `host:port`.
    public var nodeName: String = ""
    /// `broker.heartbeat`: how often a node tells the others it is alive; a node silent for three
    /// heartbeats is gone (its presence entries and connection slots expire with it).
    public var heartbeat: Duration = .seconds(2)

    /// The default: one node.
    public init() {}
}
