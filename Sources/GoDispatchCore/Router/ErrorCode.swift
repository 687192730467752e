/// The stable `code` of an error frame; clients may switch on it.
public enum ErrorCode: String, Sendable, CaseIterable {
    /// The message is not a valid envelope (malformed JSON, missing or non-string `event`, …).
    case badRequest = "bad_request"
    /// No event of that name is configured.
    case unknownEvent = "unknown_event"
    /// The sender lacks a required permission, or an action refused the message.
    case forbidden
    /// An action failed or timed out; the message says which and why.
    case actionFailed = "action_failed"
    /// Too many messages are queued behind a pending pipeline on this connection.
    case busy
    /// Binary frames are not part of the protocol.
    case unsupported
    /// The connection sends faster than `connections.rate_limit` allows.
    case rateLimited = "rate_limited"
    /// A token refresh (`auth.refresh`) was refused.
    case unauthorized
    /// The payload does not match the event's `payload_schema`; `pointer` names the first failing value.
    case invalidPayload = "invalid_payload"
    /// The room has its rule's `max_members` connections (`rooms:`); the join was refused.
    case roomFull = "room_full"
}
