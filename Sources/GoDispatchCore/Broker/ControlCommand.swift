/// A command one node sends the others: what to do with a user's or a connection's state wherever it
/// lives. The node that sends it has already applied it to what it holds itself.
public enum ControlCommand: Sendable, Equatable {
    /// Send a frame to every connection of the user.
    case notifyUser(user: String, frame: [UInt8])
    /// Send a frame to one connection.
    case sendConnection(connection: String, frame: [UInt8])
    /// Close every connection of the user.
    case disconnectUser(user: String, code: UInt16, reason: String)
    /// Close one connection (only if it belongs to `user`, when one is named).
    case disconnectConnection(connection: String, code: UInt16, reason: String, user: String?)
    /// Change the user's live permissions.
    case setPermissions(user: String, BackendCommands.PermissionUpdate)
    /// Add the user's connections (or one of them) to a room.
    case join(user: String, room: String, connection: String?)
    /// Remove the user's connections (or one of them) from a room.
    case leave(user: String, room: String, connection: String?)

    /// The user whose nodes must see the command; nil when it names a connection (every node looks).
    public var user: String? {
        switch self {
        case .notifyUser(let user, _), .disconnectUser(let user, _, _), .setPermissions(let user, _), .join(let user, _, _),
            .leave(let user, _, _):
            user
        case .sendConnection, .disconnectConnection: nil
        }
    }
}

extension ControlCommand {
    /// The command as one JSON object (what travels between nodes).
    public var json: [UInt8] {
        var fields: [(String, JSONValue)]
        switch self {
        case .notifyUser(let user, let frame):
            fields = [("op", .string("notify_user")), ("user", .string(user)), ("frame", .string(String(decoding: frame, as: UTF8.self)))]
        case .sendConnection(let connection, let frame):
            fields = [
                ("op", .string("send_connection")), ("connection", .string(connection)),
                ("frame", .string(String(decoding: frame, as: UTF8.self))),
            ]
        case .disconnectUser(let user, let code, let reason):
            fields = [("op", .string("disconnect_user")), ("user", .string(user)), ("code", .number("\(code)")), ("reason", .string(reason))]
        case .disconnectConnection(let connection, let code, let reason, let user):
            fields = [
                ("op", .string("disconnect_connection")), ("connection", .string(connection)), ("code", .number("\(code)")),
                ("reason", .string(reason)),
            ]
            if let user { fields.append(("user", .string(user))) }
        case .setPermissions(let user, let update):
            let (how, list): (String, [String]) =
                switch update {
                case .set(let list): ("set", list)
                case .add(let list): ("add", list)
                case .remove(let list): ("remove", list)
                }
            fields = [
                ("op", .string("set_permissions")), ("user", .string(user)), ("how", .string(how)),
                ("permissions", .array(list.map { .string($0) })),
            ]
        case .join(let user, let room, let connection), .leave(let user, let room, let connection):
            let op = if case .join = self { "join" } else { "leave" }
            fields = [("op", .string(op)), ("user", .string(user)), ("room", .string(room))]
            if let connection { fields.append(("connection", .string(connection))) }
        }
        return Array(JSONValue.object(fields).jsonText.utf8)
    }

    /// Reads a command written by ``json``; nil when it is not one.
    public init?(json: some Collection<UInt8>) {
        guard case .object(let fields)? = JSONValue(json: Array(json)) else { return nil }
        func text(_ key: String) -> String? {
            guard case .string(let value)? = fields.first(where: { $0.0 == key })?.1 else { return nil }
            return value
        }
        func code() -> UInt16? {
            guard case .number(let value)? = fields.first(where: { $0.0 == "code" })?.1 else { return nil }
            return UInt16(value)
        }
        switch text("op") {
        case "notify_user":
            guard let user = text("user"), let frame = text("frame") else { return nil }
            self = .notifyUser(user: user, frame: Array(frame.utf8))
        case "send_connection":
            guard let connection = text("connection"), let frame = text("frame") else { return nil }
            self = .sendConnection(connection: connection, frame: Array(frame.utf8))
        case "disconnect_user":
            guard let user = text("user"), let code = code() else { return nil }
            self = .disconnectUser(user: user, code: code, reason: text("reason") ?? "")
        case "disconnect_connection":
            guard let connection = text("connection"), let code = code() else { return nil }
            self = .disconnectConnection(connection: connection, code: code, reason: text("reason") ?? "", user: text("user"))
        case "set_permissions":
            guard let user = text("user"), case .array(let items)? = fields.first(where: { $0.0 == "permissions" })?.1 else { return nil }
            let list = items.compactMap { item -> String? in
                if case .string(let value) = item { return value }
                return nil
            }
            switch text("how") {
            case "set": self = .setPermissions(user: user, .set(list))
            case "add": self = .setPermissions(user: user, .add(list))
            case "remove": self = .setPermissions(user: user, .remove(list))
            default: return nil
            }
        case "join":
            guard let user = text("user"), let room = text("room") else { return nil }
            self = .join(user: user, room: room, connection: text("connection"))
        case "leave":
            guard let user = text("user"), let room = text("room") else { return nil }
            self = .leave(user: user, room: room, connection: text("connection"))
        default:
            return nil
        }
    }
}

/// What a command did: whether a node held its target, and on how many connections it acted.
public struct ControlTally: Sendable, Equatable {
    /// Whether some node holds the user (or connection) the command names.
    public var found: Bool
    /// How many connections it acted on (for `set_permissions`: how many nodes changed the user).
    public var count: Int

    /// A tally.
    public init(found: Bool, count: Int) {
        self.found = found
        self.count = count
    }

    /// Nothing held anywhere.
    public static let none = ControlTally(found: false, count: 0)

    /// Both tallies together.
    public static func + (lhs: ControlTally, rhs: ControlTally) -> ControlTally {
        ControlTally(found: lhs.found || rhs.found, count: lhs.count + rhs.count)
    }
}
