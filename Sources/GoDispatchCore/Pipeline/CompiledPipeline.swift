import Atomics
import CGoDispatchABI
import CoreMetrics

/// A configuration compiled against the loaded actions: ready to route messages.
public final class CompiledConfig: Sendable, AtomicReference {
    /// The settings it was compiled from.
    public let settings: EngineConfig
    /// Events by name.
    public let events: [String: CompiledEvent]
    /// `lifecycle.connect` / `lifecycle.disconnect`, when configured.
    public let lifecycle: [String: CompiledEvent]
    /// `server_events:` by name: pipelines a backend starts, with no origin connection.
    public let serverEvents: [String: CompiledEvent]
    /// `rooms:` with their `presence_info` templates compiled.
    public let rooms: CompiledRoomRules

    init(
        settings: EngineConfig, events: [String: CompiledEvent], lifecycle: [String: CompiledEvent],
        serverEvents: [String: CompiledEvent] = [:], rooms: CompiledRoomRules = .none
    ) {
        self.rooms = rooms
        self.settings = settings
        self.events = events
        self.lifecycle = lifecycle
        self.serverEvents = serverEvents
    }
}

/// One event: the permissions it requires and its steps.
public struct CompiledEvent: Sendable {
    /// The event's name.
    public let name: String
    /// Permission templates the sender must hold, e.g. `room:{{target}}:write`.
    public let requires: [Template]
    /// The payload's schema, checked before any step runs.
    public let schema: PayloadSchema?
    /// The steps, in order.
    public let steps: [CompiledStep]
    /// The event's series, when the engine counts.
    let metrics: EventMetrics?
}

/// One step: its action, its compiled params and the state the action's `instantiate` made.
public final class CompiledStep: @unchecked Sendable {
    /// One parameter: its name (in stable memory for the ABI) and template.
    struct Param {
        let name: String
        let cName: gd_str
        let template: Template
        /// The value, prepared once, when it has no template.
        let literal: gd_value?
    }

    /// The step's `id`, if any.
    public let id: String?
    /// The action it runs.
    public let action: RegisteredAction
    /// Where it is written.
    public let location: SourceLocation
    /// How long it may stay pending.
    public let timeout: Duration
    /// Runs only when this holds (`when:`).
    public let condition: StepCondition?
    /// The `when:` text as written.
    public let conditionSource: String?
    let params: [Param]
    /// `godispatch_action_failures_total{action}`, when the engine counts.
    let failures: CoreMetrics.Counter?
    let stepState: UnsafeMutableRawPointer?
    /// Owns the memory behind `params`' names and literals.
    private let arena: ByteArena

    init(
        id: String?, action: RegisteredAction, location: SourceLocation, timeout: Duration, condition: StepCondition?,
        conditionSource: String?, params: [Param], stepState: UnsafeMutableRawPointer?, arena: ByteArena,
        failures: CoreMetrics.Counter? = nil
    ) {
        self.failures = failures
        self.condition = condition
        self.conditionSource = conditionSource
        self.id = id
        self.action = action
        self.location = location
        self.timeout = timeout
        self.params = params
        self.stepState = stepState
        self.arena = arena
    }

    deinit {
        if let release = action.functions.release {
            release(action.functions.action_data, stepState)
        }
    }
}
