/// Why an operation that crosses nodes did not reach every node it should have.
public enum BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broker cannot reach the other nodes now (Redis is down or reconnecting). The text says what was
    /// still done on this node.
    case unavailable(String)
    /// Some nodes did not answer in time; the text says how many did.
    case timedOut(String)
    /// No node has what was named (a user, a connection).
    case notFound(String)

    /// What went wrong, for logs, error frames and API answers.
    public var description: String {
        switch self {
        case .unavailable(let text), .timedOut(let text), .notFound(let text): text
        }
    }
}
