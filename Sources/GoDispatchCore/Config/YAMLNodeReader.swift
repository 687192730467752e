import Yams

/// Reads Yams nodes into typed values, collecting every error with its file, line and column.
struct YAMLNodeReader {
    let file: String
    let substitution: EnvironmentSubstitution
    private(set) var errors: [ConfigError] = []

    init(file: String, substitution: EnvironmentSubstitution) {
        self.file = file
        self.substitution = substitution
    }

    func location(_ node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    mutating func fail(_ node: Node, _ message: String) {
        errors.append(ConfigError(location(node), message))
    }

    mutating func fail(_ location: SourceLocation, _ message: String) {
        errors.append(ConfigError(location, message))
    }

    /// The members of a mapping, refusing keys outside `allowed` (with the list of keys that exist).
    mutating func mapping(_ node: Node, at path: String, allowed: [String]?) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            fail(node, "`\(path)` must be a mapping (key: value lines), found \(describe(node))")
            return nil
        }
        var members: [(String, Node, Node)] = []
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                fail(keyNode, "keys of `\(path)` must be plain strings")
                continue
            }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                let suggestion = allowed.first { $0.lowercased() == key.lowercased().replacingUnderscores() }
                let hint = suggestion.map { " (did you mean `\($0)`?)" } ?? ""
                fail(keyNode, "unknown key `\(key)` in `\(path)`\(hint); allowed keys: \(allowed.joined(separator: ", "))")
                continue
            }
            if !seen.insert(key).inserted {
                fail(keyNode, "key `\(key)` appears twice in `\(path)`; keep one")
                continue
            }
            members.append((key, keyNode, value))
        }
        return members
    }

    mutating func sequence(_ node: Node, at path: String) -> [Node]? {
        if case .sequence(let sequence) = node { return Array(sequence) }
        fail(node, "`\(path)` must be a list (lines starting with `- `), found \(describe(node))")
        return nil
    }

    /// A scalar as a string, with `${VAR}` substituted.
    mutating func string(_ node: Node, at path: String) -> String? {
        guard case .scalar(let scalar) = node, node.resolvedTagName != .null else {
            fail(node, "`\(path)` must be a string, found \(describe(node))")
            return nil
        }
        do {
            return try substitution.apply(to: scalar.string)
        } catch {
            fail(node, "in `\(path)`: \(error.message)")
            return nil
        }
    }

    mutating func int(_ node: Node, at path: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, at: path) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            fail(node, "`\(path)` must be a whole number from \(range.lowerBound) to \(range.upperBound), found \"\(text)\"")
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node, at path: String) -> Duration? {
        guard let text = string(node, at: path) else { return nil }
        do throws(DurationText.Problem) {
            return try DurationText.parse(text)
        } catch {
            switch error {
            case .malformed: fail(node, "`\(path)` must be a duration like 500ms, 5s, 2m or 1h, found \"\(text)\"")
            case .tooLong: fail(node, "`\(path)` is too long: \"\(text)\"; the longest duration is 100 years (876000h)")
            }
            return nil
        }
    }

    mutating func stringList(_ node: Node, at path: String) -> [Located<String>]? {
        guard let items = sequence(node, at: path) else { return nil }
        var values: [Located<String>] = []
        for (index, item) in items.enumerated() {
            if let text = string(item, at: "\(path)[\(index)]") { values.append(Located(value: text, location: location(item))) }
        }
        return values
    }

    /// Any YAML value as JSON (for step params): scalars keep their resolved type, strings are substituted.
    mutating func json(_ node: Node, at path: String) -> JSONValue? {
        switch node {
        case .scalar(let scalar):
            switch node.resolvedTagName {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool)
            case .int:
                if let value = node.int { return .number(String(value)) }
                fail(node, "`\(path)`: number \(scalar.string) is out of range")
                return nil
            case .float:
                if let value = node.float, value.isFinite { return .number(String(value)) }
                fail(node, "`\(path)`: \(scalar.string) is not a finite number")
                return nil
            default:
                return string(node, at: path).map(JSONValue.string)
            }
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (index, item) in sequence.enumerated() {
                guard let value = json(item, at: "\(path)[\(index)]") else { return nil }
                items.append(value)
            }
            return .array(items)
        case .mapping:
            guard let members = mapping(node, at: path, allowed: nil) else { return nil }
            var object: [(String, JSONValue)] = []
            for member in members {
                guard let value = json(member.value, at: "\(path).\(member.key)") else { return nil }
                object.append((member.key, value))
            }
            return .object(object)
        case .alias:
            fail(node, "`\(path)`: YAML aliases are not supported here; write the value out")
            return nil
        }
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return node.resolvedTagName == .null ? "nothing" : "\"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}

extension Node {
    /// The node's tag after Yams' resolver ran (plain `42` is an int, `"42"` a string).
    var resolvedTagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
