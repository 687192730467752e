/// How one emitted server event ended: what ``Engine/emit(_:target:payloadJSON:on:completion:)``
/// reports to its caller (the backend API), since a server event has no connection to send errors to.
public enum EmitOutcome: Sendable, Equatable, CustomStringConvertible {
    /// No `server_events:` entry is named `name`; `known` lists the configured ones, sorted.
    case unknownEvent(name: String, known: [String])
    /// The payload is not one JSON value, or breaks the event's `payload_schema`. `pointer` is the JSON
    /// Pointer of the first failing value inside the payload ("" = the payload itself); no step ran.
    case invalidPayload(pointer: String, message: String)
    /// Every step ran or was skipped by its `when:`; one entry per step, in order.
    case completed(steps: [EmitStepResult])
    /// A step failed or timed out; the steps after it did not run.
    case failed(EmitFailure)

    /// A sentence for logs and HTTP error bodies.
    public var description: String {
        switch self {
        case .unknownEvent(let name, let known):
            let list = known.isEmpty ? "none are configured; add them under `server_events:`" : known.joined(separator: ", ")
            return "unknown server event `\(name)`; configured server events: \(list)"
        case .invalidPayload(let pointer, let message):
            return (pointer.isEmpty ? "payload " : "payload at \(pointer) ") + message
        case .completed(let steps):
            return "completed: \(steps.count(where: { !$0.skipped })) step(s) ran, \(steps.count(where: \.skipped)) skipped"
        case .failed(let failure):
            return "step \(failure.index) (`\(failure.action)`) failed: \(failure.code.rawValue): \(failure.message)"
        }
    }
}

/// One step of a server event that ran (or was skipped).
public struct EmitStepResult: Sendable, Equatable {
    /// The step's position in the pipeline, from 0.
    public let index: Int
    /// The action's name, e.g. `_notify_user`.
    public let action: String
    /// The step's `id:`, if it has one.
    public let id: String?
    /// True if the step's `when:` was false: it did not run and has no result.
    public let skipped: Bool
    /// The JSON the action set as its result (`set_result` / `complete`), or nil if it set none.
    public let resultJSON: [UInt8]?

    /// Describes one step.
    public init(index: Int, action: String, id: String?, skipped: Bool, resultJSON: [UInt8]?) {
        self.index = index
        self.action = action
        self.id = id
        self.skipped = skipped
        self.resultJSON = resultJSON
    }
}

/// The step that stopped a server event, and why.
public struct EmitFailure: Sendable, Equatable {
    /// The failing step's position, from 0.
    public let index: Int
    /// The failing step's action.
    public let action: String
    /// The failing step's `id:`, if it has one.
    public let id: String?
    /// ``ErrorCode/forbidden`` when the action refused (GD_ERR_FORBIDDEN), else ``ErrorCode/actionFailed``
    /// (an error status or a timeout).
    public let code: ErrorCode
    /// What went wrong, as a client event's error frame would say it.
    public let message: String
    /// The steps before it that ran or were skipped.
    public let completedSteps: [EmitStepResult]

    /// Describes a failure.
    public init(index: Int, action: String, id: String?, code: ErrorCode, message: String, completedSteps: [EmitStepResult]) {
        self.index = index
        self.action = action
        self.id = id
        self.code = code
        self.message = message
        self.completedSteps = completedSteps
    }
}
