/// Why a backend command (from the API) could not be carried out.
public enum BackendRefusal: Error, Sendable, Equatable {
    /// A field is missing or has a wrong value; the message names it.
    case badRequest(String)
    /// The named user, connection or membership does not exist on this node.
    case notFound(String)
    /// A limit forbids it (rooms per connection, …).
    case limitExceeded(String)
    /// The room has its rule's `max_members` connections (API error 106, reason `room_full`).
    case roomFull(String)
    /// The feature is off for what was named (a room without history).
    case notAvailable(String)
    /// A stream position that is not one of this stream's (another epoch, or ahead of it).
    case unrecoverablePosition(String)
    /// The other nodes could not be reached (the broker is down) or did not answer in time; the text says
    /// what was still done on this node.
    case brokerUnavailable(String)

    /// What went wrong, for the caller.
    public var message: String {
        switch self {
        case .badRequest(let text), .notFound(let text), .limitExceeded(let text), .roomFull(let text), .notAvailable(let text),
            .unrecoverablePosition(let text), .brokerUnavailable(let text):
            return text
        }
    }
}
