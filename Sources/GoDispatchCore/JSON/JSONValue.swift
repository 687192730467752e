/// A materialized JSON value: used for configuration and tooling, not on the hot path.
///
/// Numbers keep their text so integers of any size survive a round trip.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number in JSON syntax, e.g. `42`, `-1.5e3`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// An object; member order is kept.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The compact JSON text of this value.
    public var jsonText: String {
        var writer = JSONWriter()
        writer.write(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

extension JSONValue {
    /// The value `json` holds (exactly one JSON value), or nil when it is not valid JSON.
    public init?(json: [UInt8]) {
        guard
            let value = json.withUnsafeBytes({ bytes -> JSONValue? in
                let reader = JSONReader(bytes)
                guard let range = try? reader.validate() else { return nil }
                return reader.value(in: range)
            })
        else { return nil }
        self = value
    }
}
