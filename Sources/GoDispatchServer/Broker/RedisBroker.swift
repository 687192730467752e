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
        /// This process in the cluster: `<name>~<8 hex of its uid>`, so a node restarted under the same
        /// name is a new member and what its previous process held expires with it.
        var identity = ""
        /// Where frames and commands take effect here.
        var node: LocalNode?
        /// Rooms with members here, with their subscription.
        var rooms: [String: RoomSubscription] = [:]
        /// Users with connections here (or being admitted): how many, with their subscription.
        var users: [String: UserSubscription] = [:]
        /// Publishes waiting to come back to this node (so its own members get a frame before the step
        /// that published it completes), by echo number.
        var echoes: [UInt64: (room: String, wait: BrokerWait)] = [:]
        var nextEcho: UInt64 = 1
        /// Commands sent and not yet answered by every node, by request id.
        var requests: [UInt64: PendingRequest] = [:]
        var nextRequest: UInt64 = 1
        /// Whether each connection is up.
        var commandsUp = false
        var subscriberUp = false
        /// The newest position of each room with history this node delivered (to catch up after an outage).
        var lastSeen: [String: StreamPosition] = [:]
        /// Frozen when the pub/sub connection drops: where each room's catch-up starts (live frames that
        /// arrive before the catch-up must not move it).
        var catchUpFrom: [String: StreamPosition]?
        /// Rooms whose catch-up is under way, and those of them that must read once more (the pub/sub
        /// connection dropped again meanwhile).
        var catchingUp: Set<String> = []
        var catchUpAgain: Set<String> = []
        /// Whether the subscriber has been up once, and whether it went down since (frames were missed
        /// until the next time everything is up).
        var subscriberWasUp = false
        var missedFrames = false
        /// Whether a heartbeat has succeeded (the node list below is real).
        var heardNodes = false
        /// Live nodes as the last heartbeat saw them: name and description.
        var nodes: [(name: String, description: JSONValue)] = []
        /// Connections admitted here and not registered yet, and those of them a `cycle` elsewhere closed
        /// before they were (they close as soon as they are).
        var admitting: Set<String> = []
        var closedEarly: [String: (code: UInt16, reason: String)] = [:]
        /// Connection slots whose release failed (Redis down), released again once it is back.
        var unreleasedSlots: [(user: String, member: String)] = []
        /// The heartbeat, once started.
        var heartbeat: RepeatedTask?
        var closed = false
    }

    let settings: BrokerSettings
    let keys: RedisKeys
    let commands: RedisConnection
    /// This node's mirrors of the cluster's presence (the state core's presence store).
    let presence = ClusterPresence()
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
        let relay = BrokerRelay()
        commands = RedisConnection(url: url, group: group, logger: logger) { connection in
            relay.broker?.connectionChanged(commandsUp: connection == .connected)
        }
        subscriber = RedisSubscriber(
            url: url, group: group, logger: logger,
            onMessage: { [weak self] channel, payload in self?.received(payload, on: channel) },
            onStateChange: { [weak self] subscription in self?.connectionChanged(subscriberUp: subscription == .up) })
        relay.broker = self
        presence.broker = self
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
    /// This process in the cluster (its name and a random suffix).
    public var identity: String { state.withLock { $0.identity } }

    /// Connects to Redis as node `nodeName` and starts the heartbeat; frames and commands from other nodes
    /// then take effect on `node`. Returns once both connections have been tried: a Redis that is down
    /// does not stop start-up (the node is just not ready until it comes up).
    public func start(nodeName: String, node: LocalNode) async {
        let identity = "\(nodeName)~\(uid.prefix(8))"
        state.withLock {
            $0.nodeName = nodeName
            $0.identity = identity
            $0.node = node
        }
        _ = subscriber.subscribe(.channel(keys.cluster))
        _ = subscriber.subscribe(.channel(keys.replies(to: identity)))
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
            return (state.heartbeat, state.identity)
        }
        task?.cancel()
        if commands.state == .connected {
            removeEntries(of: name)
            _ = try? await commands.send(RedisCommand(["HDEL", keys.nodes, name])).get()
            _ = try? await commands.send(RedisCommand(["ZREM", keys.nodesAlive, name])).get()
        }
        await subscriber.close()
        await commands.close()
        let (requests, echoes) = state.withLock { state in
            defer {
                state.node = nil
                state.requests = [:]
                state.echoes = [:]
            }
            return (Array(state.requests.values), state.echoes.values.map(\.wait))
        }
        for request in requests {
            request.timeout.cancel()
            request.completion(.failure(.unavailable("the node is shutting down")))
        }
        for wait in echoes { wait.end(.unavailable("the node is shutting down")) }
    }

    /// A connection came up (the subscriber: with every subscription confirmed) or went down. When both
    /// are up again after an outage, rooms with history catch up on what this node missed.
    private func connectionChanged(commandsUp: Bool? = nil, subscriberUp: Bool? = nil) {
        let (changed, outageEnded) = state.withLock { state -> (Bool?, Bool) in
            let before = state.commandsUp && state.subscriberUp
            if let commandsUp { state.commandsUp = commandsUp }
            if let subscriberUp {
                state.subscriberUp = subscriberUp
                if !subscriberUp, state.subscriberWasUp {
                    state.missedFrames = true
                    if state.catchUpFrom == nil { state.catchUpFrom = state.lastSeen }
                    state.catchUpAgain.formUnion(state.catchingUp)
                }
                if subscriberUp { state.subscriberWasUp = true }
            }
            let now = state.commandsUp && state.subscriberUp
            let outageEnded = now && state.missedFrames
            if outageEnded { state.missedFrames = false }
            return (before != now ? now : nil, outageEnded)
        }
        if let available = changed {
            Self.announce(available, listeners: availabilityListeners, logger: logger, what: subscriberUp == nil ? "commands" : "pub/sub")
        }
        if subscriberUp == true { holdRoomsToCatchUp() }
        if commandsUp == true {
            for script in RedisScripts.all { _ = commands.send(RedisCommand(["SCRIPT", "LOAD", .string(script.source)])) }
            beat()  // the node list at once, not a heartbeat later
        }
        if changed == true { releaseLeftoverSlots() }
        if outageEnded {
            catchUp()
            refreshPresence()
        }
        if subscriberUp == false {
            // What was in flight on the lost connection will not come back.
            let lost = state.withLock { state in
                defer { state.echoes = [:] }
                return state.echoes.values.map(\.wait)
            }
            for wait in lost {
                wait.end(.unavailable("the pub/sub connection to Redis was lost before this node received its own publish back"))
            }
        }
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

/// Lets a connection's callback, made before the broker exists, reach it.
final class BrokerRelay: @unchecked Sendable {
    weak var broker: RedisBroker?
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
