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
