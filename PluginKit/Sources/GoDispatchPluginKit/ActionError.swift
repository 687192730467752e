import CGoDispatchABI

/// A failure an action reports to the host: a status and a message a user can act on.
public struct ActionError: Error, Sendable, Equatable {
    /// The gd_status the host receives (always negative).
    public let status: Int32
    /// What went wrong, for the client's error frame or the configuration error.
    public let message: String

    /// A generic failure: the pipeline stops and the origin gets `action_failed`.
    public static func failed(_ message: String) -> ActionError {
        ActionError(status: GD_ERR_FAILED.rawValue, message: message)
    }

    /// Missing or ill-typed parameters.
    public static func invalid(_ message: String) -> ActionError {
        ActionError(status: GD_ERR_INVALID.rawValue, message: message)
    }

    /// The action refuses the message: the origin gets `forbidden`.
    public static func forbidden(_ message: String) -> ActionError {
        ActionError(status: GD_ERR_FORBIDDEN.rawValue, message: message)
    }

    /// The room is at its `max_members` (1.2): the origin gets `room_full`.
    public static func roomFull(_ message: String) -> ActionError {
        ActionError(status: GD_ERR_ROOM_FULL.rawValue, message: message)
    }

    /// Copies the message into a host-owned error buffer.
    func write(to error: UnsafeMutablePointer<gd_error>?) {
        guard let error else { return }
        message.withCString { gd_error_set(error, $0) }
    }
}

/// What `invoke` tells the host.
public enum ActionOutcome: Sendable {
    /// Done.
    case ok
    /// Deferred: the action called ``ActionCall/deferCompletion()`` and will complete later.
    case pending
    /// Failed; the pipeline stops.
    case failure(ActionError)
}
