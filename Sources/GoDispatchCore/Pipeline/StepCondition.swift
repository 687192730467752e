/// A step's `when:` condition, parsed at load and evaluated against the cargo for each message.
///
/// Syntax: `payload.n > 3 and not payload.muted`, `'admin' in user.perms`, `exists(payload.reply_to)`,
/// `target == 'lobby' or target == "hall"`. Operands are template paths (the roots templates use),
/// quoted strings, numbers, `true`, `false`, `null`, or a parenthesized expression. Operators:
/// `==`, `!=`, `<`, `<=`, `>`, `>=` (numbers only), `in` (array element, object key or substring),
/// `and`, `or`, `not`. A bare operand is true unless it is missing, `null` or `false`.
public indirect enum StepCondition: Sendable, Equatable {
    case value(Operand)
    case exists(TemplateReference)
    case compare(Operand, Comparison, Operand)
    case not(StepCondition)
    case and(StepCondition, StepCondition)
    case or(StepCondition, StepCondition)

    /// A literal or a path into the cargo.
    public enum Operand: Sendable, Equatable {
        case literal(JSONValue)
        case path(TemplateReference)
    }

    /// A binary comparison.
    public enum Comparison: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case contains = "in"
    }

    /// Every path the condition reads.
    public var references: [TemplateReference] {
        func refs(_ operand: Operand) -> [TemplateReference] {
            if case .path(let reference) = operand { return [reference] }
            return []
        }
        switch self {
        case .value(let operand): return refs(operand)
        case .exists(let reference): return [reference]
        case .compare(let a, _, let b): return refs(a) + refs(b)
        case .not(let inner): return inner.references
        case .and(let a, let b), .or(let a, let b): return a.references + b.references
        }
    }

    /// Evaluates against one message's cargo.
    func evaluate(_ cargo: Cargo) -> Bool {
        switch self {
        case .value(let operand): return Self.truthy(Self.value(operand, cargo))
        case .exists(let reference): return Self.value(.path(reference), cargo) != .null
        case .not(let inner): return !inner.evaluate(cargo)
        case .and(let a, let b): return a.evaluate(cargo) && b.evaluate(cargo)
        case .or(let a, let b): return a.evaluate(cargo) || b.evaluate(cargo)
        case .compare(let a, let comparison, let b):
            return Self.compare(Self.value(a, cargo), comparison, Self.value(b, cargo))
        }
    }

    static func value(_ operand: Operand, _ cargo: Cargo) -> JSONValue {
        switch operand {
        case .literal(let value): return value
        case .path(let reference):
            switch cargo.resolve(reference) {
            case .null: return .null
            case .string(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
            case .json(let bytes): return (try? JSONReader.parse(bytes)) ?? .null
            }
        }
    }

    static func truthy(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool(false): return false
        default: return true
        }
    }

    static func compare(_ a: JSONValue, _ comparison: Comparison, _ b: JSONValue) -> Bool {
        switch comparison {
        case .equal: return PayloadSchema.equal(a, b)
        case .notEqual: return !PayloadSchema.equal(a, b)
        case .contains:
            switch (a, b) {
            case (_, .array(let items)): return items.contains { PayloadSchema.equal($0, a) }
            case (.string(let key), .object(let members)): return members.contains { $0.0 == key }
            case (.string(let part), .string(let whole)): return whole.contains(part)
            default: return false
            }
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard case .number(let x) = a, case .number(let y) = b, let l = Double(x), let r = Double(y) else { return false }
            switch comparison {
            case .less: return l < r
            case .lessOrEqual: return l <= r
            case .greater: return l > r
            default: return l >= r
            }
        }
    }
}
