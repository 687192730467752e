import Foundation
import GoDispatchCore
import GoDispatchRedis
import Logging
import NIOCore
import NIOPosix

/// The broker of a cluster: several nodes sharing one Redis server (`broker.type: redis`).
///
/// - Rooms: a node subscribes to a room's channel while it has members there. Every publish is one
///   `PUBLISH`, and every node — the publisher's too — delivers a frame when it comes back from Redis, so
///   all members of a room, on every node, see its frames in one order.
/// - Users and connections: a command (notify, disconnect, set permissions, join, leave) is applied here,
///   then published on the user's channel (or the cluster channel, for a connection); every node that
///   receives it applies it and answers on the sender's reply channel, and the sender completes once as
///   many nodes answered as `PUBLISH` reached.
/// - Nodes: a heartbeat script keeps each node's description in Redis; `info` lists the nodes heard from
///   within three heartbeats.
/// - Per-user limits: admission is one script over the user's sorted set of connections.
///
/// While Redis is unreachable the broker is *unavailable*: `/ready` answers 503, frames are delivered on
/// this node only and the step (or API call) fails saying so; after reconnecting, the subscriber
/// re-subscribes every channel before the broker is available again.
public final class RedisBroker: Broker, @unchecked Sendable {
    /// What the broker holds, behind one lock.
    struct State {
        /// This node's name (known once the WebSocket listener is bound).
        var nodeName = ""
        /// Where frames and commands take effect here.
        var node: LocalNode?
        /// Rooms with members here, with their subscription.
        var rooms: [String: RoomSubscription] = [:]
        /// Users with connections here (or being admitted): how many, with their subscription.
        var users: [String: UserSubscription] = [:]
        /// Commands sent and not yet answered by every node, by request id.
        var requests: [UInt64: PendingRequest] = [:]
        var nextRequest: UInt64 = 1
        /// Whether each connection is up.
        var commandsUp = false
        var subscriberUp = false
        /// Live nodes as the last heartbeat saw them: name and description.
        var nodes: [(name: String, description: JSONValue)] = []
        /// Connection slots whose release failed (Redis down), released again once it is back.
        var unreleasedSlots: [(user: String, member: String)] = []
        /// The heartbeat, once started.
        var heartbeat: RepeatedTask?
        var closed = false
    }

    let settings: BrokerSettings
    let keys: RedisKeys
    let commands: RedisConnection
    /// Set in `init`, right after the subscriber's callbacks (which need `self`) are possible.
    private(set) var subscriber: RedisSubscriber!
    let logger: Logger
    let state = Locked(State())
    /// How long a command waits for the other nodes' answers.
    let answerTimeout: TimeAmount = .seconds(3)
    /// Told whenever the broker becomes available or unavailable (`/ready`).
    private let availabilityListeners = Locked<[@Sendable (Bool) -> Void]>([])
    /// When this process started serving (for `info`'s uptime).
    let started = ContinuousClock.now
    /// Random per process (for `info`'s uid).
    let uid = UUID().uuidString.lowercased()

    /// A broker on the Redis server at `url`, using `group`'s event loops. Nothing connects before
    /// ``start(nodeName:node:)``.
    public init(settings: BrokerSettings, url: RedisURL, group: any EventLoopGroup, logger: Logger) {
        self.settings = settings
        self.keys = RedisKeys(prefix: settings.prefix)
        self.logger = logger
        let state = self.state
        let listeners = availabilityListeners
        let log = logger
        commands = RedisConnection(url: url, group: group, logger: logger) { connection in
            let up = connection == .connected
            let changed = state.withLock { state -> Bool? in
                let before = state.commandsUp && state.subscriberUp
                state.commandsUp = up
                return before != (state.commandsUp && state.subscriberUp) ? !before : nil
            }
            if let available = changed { Self.announce(available, listeners: listeners, logger: log, what: "command connection") }
        }
        subscriber = RedisSubscriber(
            url: url, group: group, logger: logger,
            onMessage: { [weak self] channel, payload in self?.received(payload, on: channel) },
            onStateChange: { [weak self] subscription in self?.subscriberChanged(up: subscription == .up) })
    }

    public var isClustered: Bool { true }

    /// Whether both connections are up and every subscription is confirmed.
    public var isAvailable: Bool { state.withLock { $0.commandsUp && $0.subscriberUp } }

    /// Calls `listener` with every change of ``isAvailable`` (on a Redis event loop).
    public func onAvailabilityChange(_ listener: @escaping @Sendable (Bool) -> Void) {
        availabilityListeners.withLock { $0.append(listener) }
    }

    /// This node's name in the cluster.
    public var nodeName: String { state.withLock { $0.nodeName } }

    /// Connects to Redis as node `nodeName` and starts the heartbeat; frames and commands from other nodes
    /// then take effect on `node`. Returns once both connections have been tried: a Redis that is down
    /// does not stop start-up (the node is just not ready until it comes up).
    public func start(nodeName: String, node: LocalNode) async {
        state.withLock {
            $0.nodeName = nodeName
            $0.node = node
        }
        _ = subscriber.subscribe(.channel(keys.cluster))
        _ = subscriber.subscribe(.channel(keys.replies(to: nodeName)))
        commands.start()
        subscriber.start()
        let interval = TimeAmount(checked: settings.heartbeat)
        let task = commands.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [weak self] _ in
            self?.beat()
        }
        state.withLock { $0.heartbeat = task }
        logger.notice(
            "cluster broker started",
            metadata: ["node": "\(nodeName)", "redis": "\(commands.url)", "prefix": "\(settings.prefix)", "heartbeat": "\(settings.heartbeat)"])
    }

    /// Leaves the cluster: removes this node from the node list and closes both connections.
    public func close() async {
        let (task, name) = state.withLock { state -> (RepeatedTask?, String) in
            state.closed = true
            return (state.heartbeat, state.nodeName)
        }
        task?.cancel()
        if commands.state == .connected {
            _ = try? await commands.send(RedisCommand(["HDEL", keys.nodes, name])).get()
            _ = try? await commands.send(RedisCommand(["ZREM", keys.nodesAlive, name])).get()
        }
        await subscriber.close()
        await commands.close()
        state.withLock { $0.node = nil }
    }

    /// The subscriber came up (every subscription confirmed) or went down.
    private func subscriberChanged(up: Bool) {
        let changed = state.withLock { state -> Bool? in
            let before = state.commandsUp && state.subscriberUp
            state.subscriberUp = up
            return before != (state.commandsUp && state.subscriberUp) ? !before : nil
        }
        if let available = changed {
            Self.announce(available, listeners: availabilityListeners, logger: logger, what: "subscriber")
        }
        if up { releaseLeftoverSlots() }
    }

    private static func announce(
        _ available: Bool, listeners: Locked<[@Sendable (Bool) -> Void]>, logger: Logger, what: String
    ) {
        if available {
            logger.notice("cluster broker available: Redis connected and every subscription confirmed")
        } else {
            logger.error(
                "cluster broker unavailable: Redis unreachable; delivering on this node only until it is back",
                metadata: ["connection": "\(what)"])
        }
        for listener in listeners.withLock({ $0 }) { listener(available) }
    }

    /// Whatever arrives on a subscribed channel (on the subscriber's event loop).
    private func received(_ payload: ByteBuffer, on channel: String) {
        if channel.hasPrefix(keys.roomChannelPrefix) {
            receivedRoomFrame(payload, on: channel)
        } else if channel.hasPrefix(keys.userChannelPrefix) || channel == keys.cluster {
            receivedCommand(payload)
        } else {
            receivedAnswer(payload)
        }
    }
}

/// A room this node has members in, and whether Redis has confirmed its subscription.
final class RoomSubscription: Sendable {
    let confirmation: EventLoopFuture<Void>
    private let confirmedFlag = Locked(false)

    init(_ confirmation: EventLoopFuture<Void>) {
        self.confirmation = confirmation
        confirmation.whenSuccess { [confirmedFlag] in confirmedFlag.withLock { $0 = true } }
    }

    var isConfirmed: Bool { confirmedFlag.withLock { $0 } }
}

/// A user with connections here (or being admitted): how many hold its channel, and the subscription.
struct UserSubscription {
    var holders: Int
    let confirmation: EventLoopFuture<Void>
}

/// A command sent to the other nodes, waiting for their answers.
struct PendingRequest {
    /// How many nodes `PUBLISH` reached (nil until its reply arrives).
    var expected: Int?
    /// How many answered so far, and what they did.
    var answered = 0
    var tally = ControlTally.none
    let completion: @Sendable (Result<ControlTally, BrokerError>) -> Void
    let timeout: Scheduled<Void>
}
