/// Why bytes are not one valid JSON document, and where.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset of the problem.
    public let offset: Int
    /// What is wrong, e.g. "unterminated string".
    public let reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
