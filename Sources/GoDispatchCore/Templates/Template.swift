/// A parameter value compiled at config load and resolved per message.
///
/// A string that is exactly one `{{ref}}` is a ``reference`` and keeps the JSON type of what it names
/// (missing → null). A string mixing text and references is ``text``: values are interpolated as text
/// (strings as they are, other values as compact JSON, missing → ""). Objects and arrays are compiled
/// member by member; a subtree without templates stays a ``literal``.
public indirect enum Template: Sendable, Equatable {
    /// A constant value.
    case literal(JSONValue)
    /// A whole-value reference, e.g. `"{{payload}}"`.
    case reference(TemplateReference)
    /// Text with embedded references, e.g. `"room:{{target}}:write"`.
    case text([TextPart])
    /// An object with templated members.
    case object([(String, Template)])
    /// An array with templated elements.
    case array([Template])

    /// One piece of a ``text`` template.
    public enum TextPart: Sendable, Equatable {
        case literal(String)
        case reference(TemplateReference)
    }

    public static func == (lhs: Template, rhs: Template) -> Bool {
        switch (lhs, rhs) {
        case (.literal(let a), .literal(let b)): return a == b
        case (.reference(let a), .reference(let b)): return a == b
        case (.text(let a), .text(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// True if the value depends on the message (contains a reference).
    public var isDynamic: Bool {
        if case .literal = self { return false }
        return true
    }

    /// Every reference used, in order.
    public var references: [TemplateReference] {
        switch self {
        case .literal: return []
        case .reference(let ref): return [ref]
        case .text(let parts):
            return parts.compactMap { if case .reference(let ref) = $0 { return ref } else { return nil } }
        case .object(let members): return members.flatMap { $0.1.references }
        case .array(let items): return items.flatMap(\.references)
        }
    }

    /// Compiles a string: literal, a whole reference, or text with references.
    public static func compile(string: String) throws(TemplateError) -> Template {
        var parts: [TextPart] = []
        var rest = Substring(string)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateError(message: "`{{` without a closing `}}` in \"\(string)\"")
            }
            let literal = String(rest[..<open.lowerBound])
            if literal.contains("}}") { throw TemplateError(message: "`}}` without an opening `{{` in \"\(string)\"") }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            let inner = String(rest[open.upperBound..<close.lowerBound])
            if inner.contains("{") { throw TemplateError(message: "nested `{{` in \"\(string)\"") }
            parts.append(.reference(try TemplateReference.parse(inner)))
            rest = rest[close.upperBound...]
        }
        if rest.contains("}}") { throw TemplateError(message: "`}}` without an opening `{{` in \"\(string)\"") }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        switch parts.count {
        case 0: return .literal(.string(""))
        case 1:
            switch parts[0] {
            case .literal(let text): return .literal(.string(text))
            case .reference(let ref): return .reference(ref)
            }
        default: return .text(parts)
        }
    }

    /// Compiles a configuration value: strings are parsed as templates, containers member by member.
    public static func compile(_ value: JSONValue) throws(TemplateError) -> Template {
        switch value {
        case .string(let text): return try compile(string: text)
        case .array(let items):
            var compiled: [Template] = []
            for item in items { compiled.append(try compile(item)) }
            return compiled.allSatisfy { !$0.isDynamic } ? .literal(value) : .array(compiled)
        case .object(let members):
            var compiled: [(String, Template)] = []
            for (key, member) in members { compiled.append((key, try compile(member))) }
            return compiled.allSatisfy { !$0.1.isDynamic } ? .literal(value) : .object(compiled)
        default: return .literal(value)
        }
    }
}
