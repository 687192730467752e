import Foundation

/// A compiled payload schema: the documented JSON Schema subset, checked once at load.
///
/// Keywords: `type` (a name or a list of names: object, array, string, number, integer, boolean,
/// null), `properties`, `required`, `additionalProperties` (true, false or a schema), `enum`, `const`,
/// `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`, `items`, `minItems`, `maxItems`. Any other
/// keyword is a load error, so a typo cannot silently disable a check. `pattern` is a ``LinearRegex``.
public final class PayloadSchema: @unchecked Sendable {
    let types: Set<String>?
    let properties: [(name: String, schema: PayloadSchema)]
    let required: [String]
    let additionalProperties: Additional
    let allowed: [JSONValue]?
    let constant: JSONValue?
    let minLength: Int?
    let maxLength: Int?
    /// `pattern`, compiled for linear-time search: it runs on the event loop against text a client chose.
    let pattern: (source: String, regex: LinearRegex)?
    let minimum: Double?
    let maximum: Double?
    let items: PayloadSchema?
    let minItems: Int?
    let maxItems: Int?

    enum Additional {
        case allowed
        case forbidden
        case schema(PayloadSchema)
    }

    /// The keywords this subset understands.
    public static let keywords = [
        "type", "properties", "required", "additionalProperties", "enum", "const", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "items", "minItems", "maxItems",
    ]
    static let typeNames: Set<String> = ["object", "array", "string", "number", "integer", "boolean", "null"]

    /// Compiles a schema written as a YAML mapping; `path` names it in errors.
    public init(_ value: JSONValue, path: String = "payload_schema") throws(SchemaError) {
        guard case .object(let members) = value else { throw SchemaError("`\(path)` must be a mapping of keywords") }
        func member(_ key: String) -> JSONValue? { members.first { $0.0 == key }?.1 }
        for (key, _) in members where !Self.keywords.contains(key) {
            throw SchemaError("`\(path)` has unknown keyword `\(key)`; supported: \(Self.keywords.joined(separator: ", "))")
        }
        func count(_ key: String) throws(SchemaError) -> Int? {
            guard let value = member(key) else { return nil }
            guard case .number(let text) = value, let number = Int(text), number >= 0 else {
                throw SchemaError("`\(path).\(key)` must be a whole number ≥ 0")
            }
            return number
        }
        func number(_ key: String) throws(SchemaError) -> Double? {
            guard let value = member(key) else { return nil }
            guard case .number(let text) = value, let number = Double(text) else {
                throw SchemaError("`\(path).\(key)` must be a number")
            }
            return number
        }
        switch member("type") {
        case nil: types = nil
        case .string(let name)?:
            guard Self.typeNames.contains(name) else { throw SchemaError("`\(path).type` \"\(name)\" is not a type; use one of: \(Self.typeNames.sorted().joined(separator: ", "))") }
            types = [name]
        case .array(let names)?:
            var set: Set<String> = []
            for case .string(let name) in names where Self.typeNames.contains(name) { set.insert(name) }
            guard set.count == names.count, !set.isEmpty else { throw SchemaError("`\(path).type` must list type names") }
            types = set
        default: throw SchemaError("`\(path).type` must be a type name or a list of them")
        }
        var properties: [(String, PayloadSchema)] = []
        if let value = member("properties") {
            guard case .object(let fields) = value else { throw SchemaError("`\(path).properties` must be a mapping") }
            for (name, schema) in fields { properties.append((name, try PayloadSchema(schema, path: "\(path).properties.\(name)"))) }
        }
        self.properties = properties
        switch member("required") {
        case nil: required = []
        case .array(let names)?:
            required = try names.map { (name: JSONValue) throws(SchemaError) -> String in
                guard case .string(let text) = name else { throw SchemaError("`\(path).required` must list property names") }
                return text
            }
        default: throw SchemaError("`\(path).required` must list property names")
        }
        switch member("additionalProperties") {
        case nil, .bool(true)?: additionalProperties = .allowed
        case .bool(false)?: additionalProperties = .forbidden
        case let schema?: additionalProperties = .schema(try PayloadSchema(schema, path: "\(path).additionalProperties"))
        }
        switch member("enum") {
        case nil: allowed = nil
        case .array(let values)?: allowed = values
        default: throw SchemaError("`\(path).enum` must be a list of values")
        }
        constant = member("const")
        minLength = try count("minLength")
        maxLength = try count("maxLength")
        minimum = try number("minimum")
        maximum = try number("maximum")
        minItems = try count("minItems")
        maxItems = try count("maxItems")
        items = try member("items").map { (schema: JSONValue) throws(SchemaError) in try PayloadSchema(schema, path: "\(path).items") }
        switch member("pattern") {
        case nil: pattern = nil
        case .string(let source)?:
            do throws(LinearRegexError) {
                pattern = (source, try LinearRegex(source))
            } catch {
                throw SchemaError("`\(path).pattern` is not a valid regular expression: \(source) — \(error)")
            }
        default: throw SchemaError("`\(path).pattern` must be a string")
        }
    }

    /// The first violation in `value`, as a JSON pointer and a message; nil if it conforms.
    public func firstViolation(in value: JSONValue, pointer: String = "") -> SchemaViolation? {
        if let types, !types.contains(where: { Self.matches(value, type: $0) }) {
            return SchemaViolation(pointer: pointer, message: "must be \(types.sorted().joined(separator: " or "))")
        }
        if let allowed, !allowed.contains(where: { Self.equal($0, value) }) {
            return SchemaViolation(pointer: pointer, message: "must be one of: \(allowed.map(\.jsonText).joined(separator: ", "))")
        }
        if let constant, !Self.equal(constant, value) {
            return SchemaViolation(pointer: pointer, message: "must be \(constant.jsonText)")
        }
        switch value {
        case .string(let text):
            let length = text.count
            if let minLength, length < minLength { return SchemaViolation(pointer: pointer, message: "must be at least \(Self.count(minLength, "character"))") }
            if let maxLength, length > maxLength { return SchemaViolation(pointer: pointer, message: "must be at most \(Self.count(maxLength, "character"))") }
            if let pattern, !pattern.regex.matches(text) {
                return SchemaViolation(pointer: pointer, message: "must match \(pattern.source)")
            }
        case .number(let text):
            let number = Double(text) ?? .nan
            if let minimum, !(number >= minimum) { return SchemaViolation(pointer: pointer, message: "must be ≥ \(Self.format(minimum))") }
            if let maximum, !(number <= maximum) { return SchemaViolation(pointer: pointer, message: "must be ≤ \(Self.format(maximum))") }
        case .array(let elements):
            if let minItems, elements.count < minItems { return SchemaViolation(pointer: pointer, message: "must have at least \(Self.count(minItems, "item"))") }
            if let maxItems, elements.count > maxItems { return SchemaViolation(pointer: pointer, message: "must have at most \(Self.count(maxItems, "item"))") }
            if let items {
                for (index, element) in elements.enumerated() {
                    if let violation = items.firstViolation(in: element, pointer: "\(pointer)/\(index)") { return violation }
                }
            }
        case .object(let members):
            for name in required where !members.contains(where: { $0.0 == name }) {
                return SchemaViolation(pointer: "\(pointer)/\(Self.escape(name))", message: "is required")
            }
            for (name, member) in members {
                let child = "\(pointer)/\(Self.escape(name))"
                if let schema = properties.first(where: { $0.name == name })?.schema {
                    if let violation = schema.firstViolation(in: member, pointer: child) { return violation }
                    continue
                }
                switch additionalProperties {
                case .allowed: continue
                case .forbidden: return SchemaViolation(pointer: child, message: "is not allowed")
                case .schema(let schema):
                    if let violation = schema.firstViolation(in: member, pointer: child) { return violation }
                }
            }
        default: break
        }
        return nil
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (value, type) {
        case (.object, "object"), (.array, "array"), (.string, "string"), (.bool, "boolean"), (.null, "null"),
            (.number, "number"):
            return true
        case (.number(let text), "integer"):
            guard let number = Double(text) else { return false }
            return number.rounded() == number
        default: return false
        }
    }

    /// JSON equality with numbers compared by value (1 == 1.0).
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if case .number(let x) = a, case .number(let y) = b { return Double(x) == Double(y) }
        return a == b
    }

    /// RFC 6901 escaping of one pointer segment.
    static func escape(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    /// `1 character`, `2 characters`: a limit with its noun, singular for one.
    static func count(_ value: Int, _ noun: String) -> String {
        value == 1 ? "1 \(noun)" : "\(value) \(noun)s"
    }
}

/// Where a payload breaks its schema.
public struct SchemaViolation: Sendable, Equatable {
    /// JSON pointer of the failing value (`""` is the payload itself, `/items/0/name` a nested one).
    public let pointer: String
    /// What is wrong with it.
    public let message: String
}

/// A schema that cannot be compiled.
public struct SchemaError: Error, Sendable, Equatable {
    /// What is wrong and how to fix it.
    public let message: String
    init(_ message: String) { self.message = message }
}
