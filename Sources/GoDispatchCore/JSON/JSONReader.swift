/// A zero-copy JSON reader over borrowed bytes.
///
/// `validate` checks a whole document (RFC 8259, strict UTF-8, nesting up to ``maxDepth``) without
/// allocating. After that, the navigation functions find members and elements by skipping over
/// values, so a message's payload is never materialized unless something needs it.
public struct JSONReader {
    /// The document; borrowed, valid as long as the caller keeps it alive.
    public let bytes: UnsafeRawBufferPointer
    /// Deepest nesting accepted; deeper documents are rejected rather than risking the stack.
    public static let maxDepth = 512

    /// Wraps borrowed bytes.
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    // MARK: Validation

    /// Checks that the bytes hold exactly one JSON value; returns its range without surrounding whitespace.
    public func validate() throws(JSONSyntaxError) -> Range<Int> {
        let start = skipWhitespace(from: 0)
        guard start < bytes.count else { throw JSONSyntaxError(offset: start, reason: "no value") }
        let end = try scanValue(at: start, depth: 0)
        let trailing = skipWhitespace(from: end)
        guard trailing == bytes.count else {
            throw JSONSyntaxError(offset: trailing, reason: "unexpected data after the value")
        }
        return start..<end
    }

    @inline(__always)
    func skipWhitespace(from index: Int) -> Int {
        var i = index
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return i
            }
        }
        return i
    }

    private func scanValue(at index: Int, depth: Int) throws(JSONSyntaxError) -> Int {
        guard index < bytes.count else { throw JSONSyntaxError(offset: index, reason: "unexpected end, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try scanObject(at: index, depth: depth + 1)
        case UInt8(ascii: "["): return try scanArray(at: index, depth: depth + 1)
        case UInt8(ascii: "\""): return try scanString(at: index)
        case UInt8(ascii: "t"): return try scanLiteral("true", at: index)
        case UInt8(ascii: "f"): return try scanLiteral("false", at: index)
        case UInt8(ascii: "n"): return try scanLiteral("null", at: index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try scanNumber(at: index)
        default: throw JSONSyntaxError(offset: index, reason: "unexpected character, expected a value")
        }
    }

    private func scanObject(at index: Int, depth: Int) throws(JSONSyntaxError) -> Int {
        guard depth <= Self.maxDepth else { throw JSONSyntaxError(offset: index, reason: "nested too deeply") }
        var i = skipWhitespace(from: index + 1)
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return i + 1 }
        while true {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw JSONSyntaxError(offset: i, reason: "expected a string key")
            }
            i = skipWhitespace(from: try scanString(at: i))
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                throw JSONSyntaxError(offset: i, reason: "expected ':' after a key")
            }
            i = skipWhitespace(from: try scanValue(at: skipWhitespace(from: i + 1), depth: depth))
            guard i < bytes.count else { throw JSONSyntaxError(offset: i, reason: "unterminated object") }
            if bytes[i] == UInt8(ascii: "}") { return i + 1 }
            guard bytes[i] == UInt8(ascii: ",") else { throw JSONSyntaxError(offset: i, reason: "expected ',' or '}'") }
            i = skipWhitespace(from: i + 1)
        }
    }

    private func scanArray(at index: Int, depth: Int) throws(JSONSyntaxError) -> Int {
        guard depth <= Self.maxDepth else { throw JSONSyntaxError(offset: index, reason: "nested too deeply") }
        var i = skipWhitespace(from: index + 1)
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { return i + 1 }
        while true {
            i = skipWhitespace(from: try scanValue(at: i, depth: depth))
            guard i < bytes.count else { throw JSONSyntaxError(offset: i, reason: "unterminated array") }
            if bytes[i] == UInt8(ascii: "]") { return i + 1 }
            guard bytes[i] == UInt8(ascii: ",") else { throw JSONSyntaxError(offset: i, reason: "expected ',' or ']'") }
            i = skipWhitespace(from: i + 1)
        }
    }

    private func scanLiteral(_ literal: StaticString, at index: Int) throws(JSONSyntaxError) -> Int {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw JSONSyntaxError(offset: index, reason: "invalid literal") }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw JSONSyntaxError(offset: index, reason: "invalid literal") }
        return index + count
    }

    private func scanNumber(at index: Int) throws(JSONSyntaxError) -> Int {
        var i = index
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw JSONSyntaxError(offset: i, reason: "invalid number") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw JSONSyntaxError(offset: i, reason: "digit expected after '.'") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw JSONSyntaxError(offset: i, reason: "digit expected in exponent") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        return i
    }

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Validates a string starting at its opening quote; returns the index after the closing quote.
    private func scanString(at index: Int) throws(JSONSyntaxError) -> Int {
        var i = index + 1
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "\""):
                return i + 1
            case UInt8(ascii: "\\"):
                guard i + 1 < bytes.count else { throw JSONSyntaxError(offset: i, reason: "unterminated escape") }
                switch bytes[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 5 < bytes.count, (2...5).allSatisfy({ hexValue(bytes[i + $0]) != nil }) else {
                        throw JSONSyntaxError(offset: i, reason: "invalid \\u escape")
                    }
                    i += 6
                default:
                    throw JSONSyntaxError(offset: i, reason: "invalid escape")
                }
            case 0..<0x20:
                throw JSONSyntaxError(offset: i, reason: "control character in string")
            case 0x20..<0x80:
                i += 1
            default:
                i = try scanUTF8Sequence(at: i)
            }
        }
        throw JSONSyntaxError(offset: index, reason: "unterminated string")
    }

    /// Checks one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    private func scanUTF8Sequence(at index: Int) throws(JSONSyntaxError) -> Int {
        guard let length = UTF8Validation.sequenceLength(bytes, at: index) else {
            throw JSONSyntaxError(offset: index, reason: "invalid UTF-8")
        }
        return index + length
    }

    // MARK: Navigation (on validated bytes)

    /// The end of the value starting at `index`. The bytes must have passed ``validate()``.
    public func skipValue(at index: Int) -> Int {
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return endOfString(at: index)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = index
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""): i = endOfString(at: i); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return i
        default:
            var i = index
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return i
                default: i += 1
                }
            }
            return i
        }
    }

    @inline(__always)
    private func endOfString(at index: Int) -> Int {
        var i = index + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""): return i + 1
            case UInt8(ascii: "\\"): i += 2
            default: i += 1
            }
        }
        return i
    }

    /// Calls `body` with each member's key range (inside the quotes) and value range; stops when it returns false.
    public func forEachMember(ofObjectAt index: Int, _ body: (Range<Int>, Range<Int>) -> Bool) {
        guard bytes[index] == UInt8(ascii: "{") else { return }
        var i = skipWhitespace(from: index + 1)
        while i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            let keyEnd = endOfString(at: i)
            let keyRange = (i + 1)..<(keyEnd - 1)
            let valueStart = skipWhitespace(from: skipWhitespace(from: keyEnd) + 1)
            let valueEnd = skipValue(at: valueStart)
            if !body(keyRange, valueStart..<valueEnd) { return }
            i = skipWhitespace(from: valueEnd)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return }
            i = skipWhitespace(from: i + 1)
        }
    }

    /// The range of the member `key` of the object at `index` (the last one if repeated), or nil.
    public func member(ofObjectAt index: Int, key: UnsafeRawBufferPointer) -> Range<Int>? {
        var found: Range<Int>?
        forEachMember(ofObjectAt: index) { keyRange, valueRange in
            if keyEquals(keyRange, key) { found = valueRange }
            return true
        }
        return found
    }

    /// The range of element `position` of the array at `index`, or nil.
    public func element(ofArrayAt index: Int, position: Int) -> Range<Int>? {
        guard bytes[index] == UInt8(ascii: "["), position >= 0 else { return nil }
        var i = skipWhitespace(from: index + 1)
        var current = 0
        while i < bytes.count, bytes[i] != UInt8(ascii: "]") {
            let end = skipValue(at: i)
            if current == position { return i..<end }
            current += 1
            i = skipWhitespace(from: end)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return nil }
            i = skipWhitespace(from: i + 1)
        }
        return nil
    }

    /// Compares a key (inside quotes, possibly escaped) with plain UTF-8 bytes.
    public func keyEquals(_ keyRange: Range<Int>, _ key: UnsafeRawBufferPointer) -> Bool {
        if keyRange.count == key.count, !bytes[keyRange].contains(UInt8(ascii: "\\")) {
            return memcmpEqual(keyRange.lowerBound, key)
        }
        guard bytes[keyRange].contains(UInt8(ascii: "\\")) else { return false }
        return Array(decodeString(contentsOf: keyRange).utf8).elementsEqual(key)
    }

    @inline(__always)
    private func memcmpEqual(_ start: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        for k in 0..<key.count where bytes[start + k] != key[k] { return false }
        return true
    }

    /// Decodes the contents of a string (the range inside its quotes), resolving escapes.
    /// Lone surrogates become U+FFFD.
    public func decodeString(contentsOf range: Range<Int>) -> String {
        if !bytes[range].contains(UInt8(ascii: "\\")) {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let code = bytes[i + 1]
            i += 2
            switch code {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= range.upperBound, bytes[i] == UInt8(ascii: "\\"),
                    bytes[i + 1] == UInt8(ascii: "u")
                {
                    let low = hex4(at: i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                let decoded = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: String(decoded).utf8)
            default: out.append(code)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func hex4(at index: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 4 | UInt32(hexValue(bytes[index + $1]) ?? 0) }
    }

    /// Materializes the value in `range` (tooling and tests; the hot path never needs it).
    public func value(in range: Range<Int>) -> JSONValue {
        let start = range.lowerBound
        switch bytes[start] {
        case UInt8(ascii: "\""): return .string(decodeString(contentsOf: (start + 1)..<(range.upperBound - 1)))
        case UInt8(ascii: "t"): return .bool(true)
        case UInt8(ascii: "f"): return .bool(false)
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "{"):
            var members: [(String, JSONValue)] = []
            forEachMember(ofObjectAt: start) { key, value in
                members.append((decodeString(contentsOf: key), self.value(in: value)))
                return true
            }
            return .object(members)
        case UInt8(ascii: "["):
            var items: [JSONValue] = []
            var i = skipWhitespace(from: start + 1)
            while i < range.upperBound, bytes[i] != UInt8(ascii: "]") {
                let end = skipValue(at: i)
                items.append(value(in: i..<end))
                i = skipWhitespace(from: end)
                if i < range.upperBound, bytes[i] == UInt8(ascii: ",") { i = skipWhitespace(from: i + 1) }
            }
            return .array(items)
        default:
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self))
        }
    }

    /// Parses and materializes a whole document.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBytes { raw in
            let reader = JSONReader(raw)
            do throws(JSONSyntaxError) {
                let range = try reader.validate()
                return .success(reader.value(in: range))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - 0x30
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - 0x57
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - 0x37
    default: return nil
    }
}
