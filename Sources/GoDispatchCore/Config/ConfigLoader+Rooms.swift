import Yams

/// `rooms:` — per-room rules by glob: presence, diffs, member caps, history and recovery.
extension ConfigLoader {
    /// The keys a room rule may have.
    static let roomRuleKeys = [
        "presence", "join_leave", "presence_interval", "presence_info", "max_members", "history", "recovery", "recovery_max",
    ]

    /// Reads `rooms:`: glob → rule.
    static func readRooms(_ node: Node, reader: inout YAMLNodeReader) -> [RoomRule] {
        guard let members = reader.mapping(node, at: "rooms", allowed: nil) else { return [] }
        var rules: [RoomRule] = []
        for member in members {
            let pattern = member.key
            guard !pattern.isEmpty, pattern.utf8.count <= 256 else {
                reader.fail(member.keyNode, "a room pattern must be 1 to 256 bytes, e.g. \"chat:*\"")
                continue
            }
            if let rule = readRoomRule(member.value, pattern: pattern, keyNode: member.keyNode, reader: &reader) {
                rules.append(rule)
            }
        }
        return rules
    }

    private static func readRoomRule(_ node: Node, pattern: String, keyNode: Node, reader: inout YAMLNodeReader) -> RoomRule? {
        let path = "rooms.\(pattern)"
        guard let fields = reader.mapping(node, at: path, allowed: roomRuleKeys) else { return nil }
        var rule = RoomRule(pattern: pattern, location: reader.location(keyNode))
        var sawRecovery: Node?
        var sawJoinLeave: Node?
        for field in fields {
            let key = "\(path).\(field.key)"
            switch field.key {
            case "presence":
                guard let text = reader.string(field.value, at: key) else { continue }
                guard let mode = PresenceMode(rawValue: text) else {
                    reader.fail(field.value, "`\(key)` must be off, stats or full, found \"\(text)\"")
                    continue
                }
                rule.presence = mode
            case "join_leave":
                sawJoinLeave = field.value
                rule.joinLeave = readBool(field.value, at: key, reader: &reader) ?? false
            case "presence_interval":
                guard let value = reader.duration(field.value, at: key) else { continue }
                guard value >= .milliseconds(10) else {
                    reader.fail(field.value, "`\(key)` must be at least 10ms (diffs are coalesced over it)")
                    continue
                }
                rule.presenceInterval = value
            case "presence_info":
                if let value = reader.json(field.value, at: key) {
                    rule.presenceInfo = Located(value: value, location: reader.location(field.value))
                }
            case "max_members":
                rule.maxMembers = reader.int(field.value, at: key, range: 1...10_000_000)
            case "history":
                rule.history = readHistory(field.value, at: key, reader: &reader)
            case "recovery":
                sawRecovery = field.value
                rule.recovery = readBool(field.value, at: key, reader: &reader) ?? false
            case "recovery_max":
                if let value = reader.int(field.value, at: key, range: 1...1_000_000) { rule.recoveryMax = value }
            default: break
            }
        }
        if let sawRecovery, rule.recovery, rule.history == nil {
            reader.fail(sawRecovery, "`\(path).recovery` needs `history:` to recover from, e.g. history: { size: 100, ttl: 300s }")
        }
        if let sawJoinLeave, rule.joinLeave, rule.presence != .full {
            reader.fail(sawJoinLeave, "`\(path).join_leave` needs `presence: full` (diffs name the users who joined and left)")
        }
        if let info = rule.presenceInfo, rule.presence != .full {
            reader.fail(info.location, "`\(path).presence_info` needs `presence: full` (only full presence lists users)")
        }
        if let history = rule.history, rule.recovery, rule.recoveryMax > history.size {
            rule.recoveryMax = history.size  // a gap larger than the history can never be recovered anyway
        }
        return rule
    }

    private static func readHistory(_ node: Node, at path: String, reader: inout YAMLNodeReader) -> HistorySettings? {
        guard let fields = reader.mapping(node, at: path, allowed: ["size", "ttl"]) else { return nil }
        var size: Int?
        var ttl: Duration?
        for field in fields {
            switch field.key {
            case "size": size = reader.int(field.value, at: "\(path).size", range: 1...100_000)
            default:
                guard let value = reader.duration(field.value, at: "\(path).ttl") else { continue }
                guard value > .zero else {
                    reader.fail(field.value, "`\(path).ttl` must be longer than 0, e.g. 300s")
                    continue
                }
                ttl = value
            }
        }
        guard let size, let ttl else {
            if !fields.contains(where: { $0.key == "size" }) || !fields.contains(where: { $0.key == "ttl" }) {
                reader.fail(node, "`\(path)` needs `size:` and `ttl:`, e.g. { size: 100, ttl: 300s }")
            }
            return nil
        }
        return HistorySettings(size: size, ttl: ttl)
    }

    /// A YAML boolean (`true`/`false`, also `yes`/`no`, `on`/`off`).
    static func readBool(_ node: Node, at path: String, reader: inout YAMLNodeReader) -> Bool? {
        guard let text = reader.string(node, at: path) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            reader.fail(node, "`\(path)` must be true or false, found \"\(text)\"")
            return nil
        }
    }
}
