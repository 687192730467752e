/// Reads the top level of a JSON object without Foundation (the kit has no dependencies): string
/// members are decoded, other members keep their JSON text. Enough for settings, header maps and
/// small responses; use a full parser for anything deeper.
public enum FlatJSONObject {
    /// The members of `text`, or nil if it is not a JSON object.
    public static func parse(_ text: String) -> [String: PluginValue]? {
        var reader = KitJSONReader(bytes: Array(text.utf8))
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        var members: [String: PluginValue] = [:]
        reader.skipSpace()
        if reader.take(UInt8(ascii: "}")) { return members }
        while true {
            reader.skipSpace()
            guard let key = reader.string() else { return nil }
            reader.skipSpace()
            guard reader.take(UInt8(ascii: ":")) else { return nil }
            reader.skipSpace()
            if reader.peek == UInt8(ascii: "\"") {
                guard let value = reader.string() else { return nil }
                members[key] = .string(value)
            } else {
                guard let raw = reader.rawValue() else { return nil }
                members[key] = raw == "null" ? .null : .json(raw)
            }
            reader.skipSpace()
            if reader.take(UInt8(ascii: ",")) { continue }
            return reader.take(UInt8(ascii: "}")) ? members : nil
        }
    }
}

/// A forward-only reader over JSON text, shared by the kit's small parsers.
struct KitJSONReader {
    let bytes: [UInt8]
    var index = 0

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipSpace() {
        while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { index += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    /// A string starting at its opening quote, decoded.
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var out: [UInt8] = []
        while let b = peek {
            index += 1
            switch b {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek else { return nil }
                index += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count,
                        let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                    else { return nil }
                    index += 4
                    out.append(contentsOf: String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                default: out.append(e)
                }
            default: out.append(b)
            }
        }
        return nil
    }

    /// A non-string value's text (numbers, literals, nested objects and arrays).
    mutating func rawValue() -> String? {
        let start = index
        var depth = 0
        while let b = peek {
            if b == UInt8(ascii: "\"") {
                guard string() != nil else { return nil }
                continue
            }
            if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") { depth += 1 }
            if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                if depth == 0 { break }
                depth -= 1
            }
            if depth == 0, b == UInt8(ascii: ",") { break }
            index += 1
        }
        var end = index
        while end > start, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[end - 1]) { end -= 1 }
        return end > start ? String(decoding: bytes[start..<end], as: UTF8.self) : nil
    }
}

/// Writes JSON string literals without Foundation.
public enum JSONString {
    /// `text` as a quoted, escaped JSON string.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
