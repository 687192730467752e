import GoDispatchCore

/// An error an API method answers with (HTTP 200, `{"error":{"code","message","reason"}}`). The numeric
/// codes follow Centrifugo's server API table, so its clients understand them; `reason` uses the names of
/// our client error frames.
public struct APIError: Error, Sendable, Equatable {
    /// Centrifugo-compatible numeric codes.
    public enum Code: Int, Sendable {
        /// Something broke inside the server.
        case internalError = 100
        /// The caller may not do this.
        case unauthorized = 101
        /// The named user, connection, room or server event does not exist.
        case notFound = 102
        /// An action refused what was asked (a server event's step answered forbidden).
        case permissionDenied = 103
        /// No such API method.
        case methodNotFound = 104
        /// A limit was reached.
        case limitExceeded = 106
        /// The request is malformed: bad JSON, a missing field, a wrong type.
        case badRequest = 107
        /// The feature is not available here.
        case notAvailable = 108
        /// A stream position that is not one of the room's stream (another epoch, or ahead of it).
        case unrecoverablePosition = 112
    }

    /// The numeric code.
    public let code: Code
    /// What went wrong, naming the field where one is at fault.
    public let message: String
    /// The client error name (`bad_request`, `forbidden`, `not_found`, …).
    public let reason: String

    /// An error with an explicit reason.
    public init(_ code: Code, _ message: String, reason: String? = nil) {
        self.code = code
        self.message = message
        self.reason = reason ?? Self.defaultReason(code)
    }

    private static func defaultReason(_ code: Code) -> String {
        switch code {
        case .internalError: return "internal"
        case .unauthorized: return "unauthorized"
        case .notFound: return "not_found"
        case .permissionDenied: return ErrorCode.forbidden.rawValue
        case .methodNotFound: return "unknown_method"
        case .limitExceeded: return "limit_exceeded"
        case .badRequest: return ErrorCode.badRequest.rawValue
        case .notAvailable: return "not_available"
        case .unrecoverablePosition: return "unrecoverable_position"
        }
    }

    /// A malformed request: `message` names the field.
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// The error a refused backend command answers with.
    init(_ refusal: BackendRefusal) {
        switch refusal {
        case .badRequest(let text): self.init(.badRequest, text)
        case .notFound(let text): self.init(.notFound, text)
        case .limitExceeded(let text): self.init(.limitExceeded, text)
        case .roomFull(let text): self.init(.limitExceeded, text, reason: ErrorCode.roomFull.rawValue)
        case .notAvailable(let text): self.init(.notAvailable, text)
        case .unrecoverablePosition(let text): self.init(.unrecoverablePosition, text)
        case .brokerUnavailable(let text): self.init(.internalError, text, reason: "broker_unavailable")
        }
    }

    /// `{"code":…,"message":…,"reason":…}`.
    func write(to writer: inout JSONWriter) {
        writer.write(.object([("code", .number(String(code.rawValue))), ("message", .string(message)), ("reason", .string(reason))]))
    }
}
