/// What a `{{…}}` names: a root of the cargo and a path below it.
public struct TemplateReference: Sendable, Equatable, CustomStringConvertible {
    /// The part of the cargo a reference starts from.
    public enum Root: Sendable, Equatable {
        /// `payload…`: the client's payload.
        case payload
        /// `target`: the envelope's target.
        case target
        /// `event`: the event name.
        case event
        /// `user.id`: the sender's user id.
        case userID
        /// `user.perms`: the sender's live global permissions (a JSON array).
        case userPermissions
        /// `user.claims.<path>`: the sender's verified token claims (the JWT payload as signed).
        case userClaims
        /// `connection.id`: the sending connection's id.
        case connectionID
        /// `message.id`: the envelope's `id` (null when the client sent none).
        case messageID
        /// `steps.<id>…`: the result of an earlier step.
        case step(String)
        /// `close.code`: the close code, in the `lifecycle.disconnect` pipeline (null elsewhere).
        case closeCode
        /// `close.reason`: the close reason, in the `lifecycle.disconnect` pipeline (null elsewhere).
        case closeReason
    }

    /// Where the reference starts.
    public let root: Root
    /// Keys (or array indexes, written as digits) below the root.
    public let path: [String]
    /// The reference as written, without braces.
    public let text: String

    public var description: String { "{{\(text)}}" }

    /// Every reference a template may use, for error messages.
    public static let knownRoots =
        "payload, payload.<path>, target, event, user.id, user.perms, user.claims.<path>, connection.id, message.id, steps.<id>.<path>, "
        + "close.code, close.reason"

    /// Parses the inside of `{{ … }}`.
    public static func parse(_ raw: String) throws(TemplateError) -> TemplateReference {
        let text = raw.trimmingWhitespace()
        guard !text.isEmpty else { throw TemplateError(message: "empty template `{{}}`; name one of: \(knownRoots)") }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for part in parts where part.isEmpty || !part.allSatisfy(Self.isPathCharacter) {
            throw TemplateError(message: "`{{\(text)}}` is not a path: use letters, digits, `_` and `-` separated by dots")
        }
        let rest = Array(parts.dropFirst())
        switch (parts[0], rest.count) {
        case ("payload", _): return TemplateReference(root: .payload, path: rest, text: text)
        case ("target", 0): return TemplateReference(root: .target, path: [], text: text)
        case ("event", 0): return TemplateReference(root: .event, path: [], text: text)
        case ("user", 1) where rest[0] == "id": return TemplateReference(root: .userID, path: [], text: text)
        case ("user", 1) where rest[0] == "perms": return TemplateReference(root: .userPermissions, path: [], text: text)
        case ("user", let n) where n >= 1 && rest[0] == "claims":
            return TemplateReference(root: .userClaims, path: Array(rest.dropFirst()), text: text)
        case ("connection", 1) where rest[0] == "id": return TemplateReference(root: .connectionID, path: [], text: text)
        case ("message", 1) where rest[0] == "id": return TemplateReference(root: .messageID, path: [], text: text)
        case ("close", 1) where rest[0] == "code": return TemplateReference(root: .closeCode, path: [], text: text)
        case ("close", 1) where rest[0] == "reason": return TemplateReference(root: .closeReason, path: [], text: text)
        case ("steps", let n) where n >= 1:
            return TemplateReference(root: .step(rest[0]), path: Array(rest.dropFirst()), text: text)
        default:
            throw TemplateError(message: "unknown template `{{\(text)}}`; use one of: \(knownRoots)")
        }
    }

    private static func isPathCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")
    }
}

/// A template that cannot be compiled.
public struct TemplateError: Error, Sendable, Equatable {
    /// What is wrong and how to write it instead.
    public let message: String
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
