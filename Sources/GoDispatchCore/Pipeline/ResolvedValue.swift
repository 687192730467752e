import CGoDispatchABI

/// A value looked up in the cargo for one message.
enum ResolvedValue {
    case null
    /// Plain UTF-8 text (unescaped).
    case string([UInt8])
    /// One JSON value that is not a string or null.
    case json([UInt8])

    /// Copies the value into `arena` as a gd_value.
    func cValue(in arena: ByteArena) -> gd_value {
        switch self {
        case .null: return gd_value(kind: Int32(GD_VALUE_NULL.rawValue), text: gd_str(data: nil, len: 0))
        case .string(let bytes): return gd_value(kind: Int32(GD_VALUE_STRING.rawValue), text: arena.copy(bytes))
        case .json(let bytes): return gd_value(kind: Int32(GD_VALUE_JSON.rawValue), text: arena.copy(bytes))
        }
    }

    /// Writes the value as JSON.
    func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.writeASCII("null")
        case .string(let bytes): bytes.withUnsafeBytes { writer.writeString(utf8: $0) }
        case .json(let bytes): writer.writeRaw(bytes)
        }
    }

    /// Appends the value as text (strings as they are, JSON as its text, null as nothing).
    func appendText(to output: inout [UInt8]) {
        switch self {
        case .null: break
        case .string(let bytes), .json(let bytes): output.append(contentsOf: bytes)
        }
    }

    /// Classifies one valid JSON value: strings are unescaped, null is null, the rest stays JSON.
    static func fromJSON(_ reader: JSONReader, _ range: Range<Int>) -> ResolvedValue {
        switch reader.bytes[range.lowerBound] {
        case UInt8(ascii: "\""):
            let text = reader.decodeString(contentsOf: (range.lowerBound + 1)..<(range.upperBound - 1))
            return .string(Array(text.utf8))
        case UInt8(ascii: "n"): return .null
        default: return .json(Array(reader.bytes[range]))
        }
    }
}
