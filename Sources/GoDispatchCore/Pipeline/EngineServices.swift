import Logging

/// What running pipelines need from the engine: the state core, the fan-out and a logger.
public struct EngineServices: Sendable {
    /// The state core.
    public let state: any StateManager
    /// Delivers one frame to many connections.
    public let fanOut: any FrameFanOut
    /// The engine's logger.
    public let logger: Logger
    /// Bounds host functions enforce.
    public let limits: EngineLimits
    /// Watches every step (dry runs only).
    public let observer: (any PipelineObserver)?
    /// The time rate limits are judged by (tests inject their own).
    public let clock: @Sendable () -> ContinuousClock.Instant
    /// What the router counts (nil: nothing).
    public let metrics: EngineMetrics?
    /// The `rooms:` rules in force (the router keeps them current across reloads).
    public let roomRules: RoomRulesCell
    /// The streams of rooms that keep history (`rooms:` rules with `history:`).
    public let streams: RoomStreams
    /// What carries frames and commands to the other nodes (the memory broker: there are none).
    public let broker: any Broker
    /// Members joining a room whose history the cluster shares, until their `_joined` is sent.
    public let recovering = RecoveringMembers()

    /// Bundles the services.
    public init(
        state: any StateManager, fanOut: any FrameFanOut = DirectFanOut(), logger: Logger, limits: EngineLimits = EngineLimits(),
        observer: (any PipelineObserver)? = nil, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        metrics: EngineMetrics? = nil, roomRules: RoomRulesCell = RoomRulesCell(), broker: any Broker = MemoryBroker()
    ) {
        self.broker = broker
        self.metrics = metrics
        self.roomRules = roomRules
        self.state = state
        self.fanOut = fanOut
        self.logger = logger
        self.limits = limits
        self.observer = observer
        self.clock = clock
        self.streams = RoomStreams(state: state, clock: clock)
    }
}

/// Bounds on what actions may do for one connection.
public struct EngineLimits: Sendable {
    /// Most rooms one connection may be in (`connections.max_rooms_per_connection`).
    public var maxRoomsPerConnection: Int = 100
    /// Longest room name, in bytes.
    public var maxRoomNameBytes: Int = 256

    /// Default limits.
    public init(maxRoomsPerConnection: Int = 100, maxRoomNameBytes: Int = 256) {
        self.maxRoomsPerConnection = maxRoomsPerConnection
        self.maxRoomNameBytes = maxRoomNameBytes
    }
}

/// How a pipeline ended.
public enum PipelineOutcome: Sendable, Equatable {
    /// Every step ran.
    case completed
    /// A step failed; the origin was sent an error frame with `code`.
    case failed(code: ErrorCode, message: String)
    /// The connection closed before the run finished; the remaining steps did not run.
    case abandoned
}
