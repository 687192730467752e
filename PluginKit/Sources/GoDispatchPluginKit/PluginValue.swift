import CGoDispatchABI

/// A parameter or cargo value as a plugin sees it.
///
/// Strings are plain (already unescaped) text; everything else that is not null
/// arrives as the bytes of one JSON value.
public enum PluginValue: Sendable, Equatable {
    /// No value: a missing parameter, a missing template path or a JSON null.
    case null
    /// A plain string.
    case string(String)
    /// One JSON value (number, boolean, object or array) as text.
    case json(String)

    /// Builds a value from the C representation, copying its bytes.
    public init(_ raw: gd_value) {
        switch raw.kind {
        case Int32(GD_VALUE_STRING.rawValue): self = .string(raw.text.string)
        case Int32(GD_VALUE_JSON.rawValue): self = .json(raw.text.string)
        default: self = .null
        }
    }

    /// The string, if this is a string value.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as a boolean: JSON `true`/`false` or the strings "true"/"false".
    public var boolValue: Bool? {
        switch self {
        case .json("true"), .string("true"): return true
        case .json("false"), .string("false"): return false
        default: return nil
        }
    }

    /// The value as an integer: a JSON integer or a string of digits.
    public var intValue: Int? {
        switch self {
        case .json(let text), .string(let text): return Int(text)
        case .null: return nil
        }
    }
}

extension gd_str {
    /// Copies the bytes into a Swift string (invalid UTF-8 is repaired).
    public var string: String {
        guard let data, len > 0 else { return "" }
        return data.withMemoryRebound(to: UInt8.self, capacity: len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
        }
    }

    /// An empty string.
    public static var empty: gd_str { gd_str(data: nil, len: 0) }
}

/// Runs `body` with a borrowed `gd_str` viewing the UTF-8 bytes of `text`.
public func withGDString<R>(_ text: String, _ body: (gd_str) throws -> R) rethrows -> R {
    var copy = text
    return try copy.withUTF8 { buffer in
        try buffer.withMemoryRebound(to: CChar.self) { chars in
            try body(gd_str(data: chars.baseAddress, len: chars.count))
        }
    }
}

extension PluginValue {
    /// The value as a list of strings: a JSON array of strings, or one plain string. Nil otherwise.
    public var stringList: [String]? {
        switch self {
        case .null: return nil
        case .string(let text): return [text]
        case .json(let text): return StringListReader.parse(text)
        }
    }
}

/// Reads a JSON array of strings without Foundation (the kit has no dependencies).
enum StringListReader {
    static func parse(_ text: String) -> [String]? {
        var reader = KitJSONReader(bytes: Array(text.utf8))
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "[")) else { return nil }
        var items: [String] = []
        reader.skipSpace()
        if reader.take(UInt8(ascii: "]")) { return items }
        while true {
            reader.skipSpace()
            guard let item = reader.string() else { return nil }
            items.append(item)
            reader.skipSpace()
            if reader.take(UInt8(ascii: ",")) { continue }
            return reader.take(UInt8(ascii: "]")) ? items : nil
        }
    }
}
