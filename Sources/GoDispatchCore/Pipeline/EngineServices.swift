import Logging

/// What running pipelines need from the engine: the state core, the fan-out and a logger.
public struct EngineServices: Sendable {
    /// The state core.
    public let state: any StateManager
    /// Delivers one frame to many connections.
    public let fanOut: any FrameFanOut
    /// The engine's logger.
    public let logger: Logger

    /// Bundles the services.
    public init(state: any StateManager, fanOut: any FrameFanOut = DirectFanOut(), logger: Logger) {
        self.state = state
        self.fanOut = fanOut
        self.logger = logger
    }
}

/// How a pipeline ended.
public enum PipelineOutcome: Sendable, Equatable {
    /// Every step ran.
    case completed
    /// A step failed; the origin was sent an error frame with `code`.
    case failed(code: ErrorCode, message: String)
}
