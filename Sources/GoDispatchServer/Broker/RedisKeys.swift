/// The names of every Redis key and channel a cluster uses, all starting with `broker.prefix`.
///
/// Per-room and per-user names carry their room or user in a hash tag (`{…}`), so a later Redis
/// Cluster mode keeps each room's (and each user's) keys in one slot without renaming anything.
struct RedisKeys: Sendable {
    /// `broker.prefix`.
    let prefix: String

    /// Where a room's frames travel: every node with members there subscribes.
    func room(_ room: String) -> String { "\(prefix):room:{\(room)}" }
    /// The start of every room channel's name.
    var roomChannelPrefix: String { "\(prefix):room:{" }
    /// Where commands about a user travel: every node with connections of the user subscribes.
    func user(_ user: String) -> String { "\(prefix):user:{\(user)}" }
    /// The start of every user channel's name.
    var userChannelPrefix: String { "\(prefix):user:{" }
    /// Where commands about a connection travel (any node may hold it): every node subscribes.
    var cluster: String { "\(prefix):cluster" }
    /// Where a node receives the answers to its commands.
    func replies(to node: String) -> String { "\(prefix):reply:\(node)" }
    /// Stream: a room's held frames, entry id `<offset>-0`, fields `t` (Redis time, ms) and `f` (the frame).
    func history(_ room: String) -> String { "\(prefix):history:{\(room)}" }
    /// Hash: a room's `epoch` and `top` (the newest offset).
    func historyMeta(_ room: String) -> String { "\(prefix):history-meta:{\(room)}" }
    /// String: the result of a publish with an idempotency key (empty while it is under way).
    func idempotency(room: String, key: String) -> String { "\(prefix):idem:{\(room)}:\(key)" }
    /// Hash: a room's presence, connection → `{"n": node, "u": user, "i": info}`.
    func presence(_ room: String) -> String { "\(prefix):presence:{\(room)}" }
    /// Set: the rooms where a node (process) has presence entries, so they can be removed when it dies.
    func presenceRooms(of node: String) -> String { "\(prefix):presence-rooms:\(node)" }
    /// Hash: node name → its `info` description.
    var nodes: String { "\(prefix):nodes" }
    /// Sorted set: node name → when it last sent a heartbeat (Redis time, ms).
    var nodesAlive: String { "\(prefix):nodes-alive" }
    /// Sorted set: `<connection id>|<node>` → when the connection was admitted (ms), for per-user limits.
    func connections(of user: String) -> String { "\(prefix):conns:{\(user)}" }
}
