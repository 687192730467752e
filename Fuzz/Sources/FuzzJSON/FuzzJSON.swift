// Fuzzes the zero-copy JSON reader and the writer.
//
// Oracles: `validate` and `parse` agree; whatever validates parses, writes back through `JSONWriter`
// to text that validates again and parses to the same value; the lazy accessors the router uses
// (`skipValue`, `member(ofObjectAt:key:)`, `element(ofArrayAt:position:)`, `decodeString`) agree with
// the materialized value; any Swift string written by `JSONWriter` validates and reads back unchanged.
import FuzzSupport
import GoDispatchCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    checkDocument(bytes)
    checkWrittenString(String(decoding: bytes, as: UTF8.self))
    return 0
}

/// Deepest level whose members and elements are cross-checked one by one (the rest is checked whole).
private let crossCheckDepth = 4

private func checkDocument(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        let reader = JSONReader(raw)
        let range: Range<Int>
        do {
            range = try reader.validate()
        } catch {
            fuzzCheck((try? JSONReader.parse(bytes)) == nil, "validate refused but parse accepted")
            return
        }
        fuzzCheck(UTF8Validation.isValid(raw), "validated JSON is not UTF-8")
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            fuzzFail("validate accepted but parse threw \(error)")
        }
        fuzzCheck(reader.value(in: range) == value, "value(in:) differs from parse")
        crossCheck(reader, range, value, depth: 0)

        // Round trip: written back, the value validates and reads as the same value; writing is canonical.
        var writer = JSONWriter()
        writer.write(value)
        let written = writer.bytes
        fuzzCheck(written == Array(value.jsonText.utf8), "jsonText differs from JSONWriter")
        let reread: JSONValue
        do {
            reread = try JSONReader.parse(written)
        } catch {
            fuzzFail("JSONWriter output does not validate (\(error)): \(String(decoding: written, as: UTF8.self))")
        }
        fuzzCheck(reread == value, "round trip changed the value")
        var again = JSONWriter()
        again.write(reread)
        fuzzCheck(again.bytes == written, "writing is not canonical")
    }
}

/// Checks the navigation functions against the materialized `value` of `range`.
private func crossCheck(_ reader: JSONReader, _ range: Range<Int>, _ value: JSONValue, depth: Int) {
    fuzzCheck(reader.skipValue(at: range.lowerBound) == range.upperBound, "skipValue ends elsewhere than validate")
    switch value {
    case .object(let members):
        var seen: [(key: Range<Int>, value: Range<Int>)] = []
        reader.forEachMember(ofObjectAt: range.lowerBound) { key, value in
            seen.append((key, value))
            return true
        }
        fuzzCheck(seen.count == members.count, "forEachMember saw \(seen.count) members, parse \(members.count)")
        for (index, (keyRange, valueRange)) in seen.enumerated() where index < 64 {
            let key = reader.decodeString(contentsOf: keyRange)
            fuzzCheck(key == members[index].0, "decodeString of a key differs from parse")
            // `member` finds the last member whose key decodes to the same bytes (String's `==` would also
            // equate canonically equivalent keys, which JSON keeps apart).
            let expected = members.lastIndex { $0.0.utf8.elementsEqual(key.utf8) }!
            let found = Array(key.utf8).withUnsafeBytes { reader.member(ofObjectAt: range.lowerBound, key: $0) }
            fuzzCheck(found == seen[expected].value, "member(ofObjectAt:) found the wrong member")
            fuzzCheck(Array(key.utf8).withUnsafeBytes { reader.keyEquals(keyRange, $0) }, "keyEquals refused its own key")
            if depth < crossCheckDepth { crossCheck(reader, valueRange, members[index].1, depth: depth + 1) }
        }
        fuzzCheck(
            Array("\u{1}missing".utf8).withUnsafeBytes { reader.member(ofObjectAt: range.lowerBound, key: $0) } == nil
                || members.contains { $0.0.utf8.elementsEqual("\u{1}missing".utf8) },
            "member(ofObjectAt:) found a missing key")
    case .array(let items):
        for (position, item) in items.enumerated() where position < 64 {
            guard let element = reader.element(ofArrayAt: range.lowerBound, position: position) else {
                fuzzFail("element(ofArrayAt:) lost element \(position)")
            }
            fuzzCheck(reader.value(in: element) == item, "element(ofArrayAt:) found the wrong element")
            if depth < crossCheckDepth { crossCheck(reader, element, item, depth: depth + 1) }
        }
        if items.count <= 64 {
            fuzzCheck(reader.element(ofArrayAt: range.lowerBound, position: items.count) == nil, "element past the end")
        }
        fuzzCheck(reader.element(ofArrayAt: range.lowerBound, position: -1) == nil, "element at -1")
    case .string(let text):
        let decoded = reader.decodeString(contentsOf: (range.lowerBound + 1)..<(range.upperBound - 1))
        fuzzCheck(decoded == text, "decodeString differs from parse")
    default:
        break
    }
}

/// Any string written by `JSONWriter` is valid JSON and reads back as the same string.
private func checkWrittenString(_ text: String) {
    var writer = JSONWriter()
    writer.writeString(text)
    let written = writer.bytes
    guard let value = try? JSONReader.parse(written) else {
        fuzzFail("writeString output does not validate: \(written)")
    }
    fuzzCheck(value == .string(text), "writeString did not round-trip")
}
