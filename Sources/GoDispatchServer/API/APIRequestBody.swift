import GoDispatchCore

/// The JSON object of one API call (or of one command of a `batch`), read without materializing it:
/// fields are found by name, strings decoded on demand, and a payload is handed on as the bytes the
/// caller sent. Every accessor names the field in its error.
struct APIRequestBody: Sendable {
    /// The whole request body; shared by the commands of a batch.
    let bytes: [UInt8]
    /// This object's members: name → value range in ``bytes`` (a repeated name: the last one).
    private let members: [String: Range<Int>]
    /// The prefix that names this object in messages (`commands[2].publish.` in a batch, else empty).
    let path: String

    /// Parses a request body, which must be one JSON object (an empty body counts as `{}`).
    init(parsing bytes: [UInt8]) throws(APIError) {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            self.init(bytes: Array("{}".utf8), object: 0, path: "")
            return
        }
        let range: Result<Range<Int>, JSONSyntaxError> = bytes.withUnsafeBytes { raw in
            do throws(JSONSyntaxError) { return .success(try JSONReader(raw).validate()) } catch { return .failure(error) }
        }
        switch range {
        case .failure(let error):
            throw .badRequest("the body is not valid JSON: \(error.description)")
        case .success(let value):
            guard bytes[value.lowerBound] == UInt8(ascii: "{") else {
                throw .badRequest("the body must be a JSON object, e.g. {\"room\":\"lobby\",\"payload\":{}}")
            }
            self.init(bytes: bytes, object: value.lowerBound, path: "")
        }
    }

    private init(bytes: [UInt8], object start: Int, path: String) {
        var members: [String: Range<Int>] = [:]
        bytes.withUnsafeBytes { raw in
            let reader = JSONReader(raw)
            reader.forEachMember(ofObjectAt: start) { key, value in
                members[reader.decodeString(contentsOf: key)] = value
                return true
            }
        }
        self.bytes = bytes
        self.members = members
        self.path = path
    }

    /// The names of the members, in no particular order.
    var fieldNames: [String] { Array(members.keys) }

    /// The range of the first of `names` present (aliases: `room` or `channel`), with the name found.
    private func find(_ names: [String]) -> (name: String, range: Range<Int>)? {
        for name in names { if let range = members[name] { return (name, range) } }
        return nil
    }

    private func first(_ range: Range<Int>) -> UInt8 { bytes[range.lowerBound] }

    private func isNull(_ range: Range<Int>) -> Bool { first(range) == UInt8(ascii: "n") }

    private func quoted(_ names: [String]) -> String { names.map { "`\(path)\($0)`" }.joined(separator: " or ") }

    /// A string field (first present alias), or nil when absent or null.
    func optionalString(_ names: String...) throws(APIError) -> String? {
        guard let (name, range) = find(names), !isNull(range) else { return nil }
        guard first(range) == UInt8(ascii: "\"") else { throw .badRequest("`\(path)\(name)` must be a string") }
        return bytes.withUnsafeBytes { JSONReader($0).decodeString(contentsOf: (range.lowerBound + 1)..<(range.upperBound - 1)) }
    }

    /// A required, non-empty string field.
    func string(_ names: String...) throws(APIError) -> String {
        guard let (name, range) = find(names), !isNull(range) else { throw .badRequest("\(quoted(names)) is required") }
        guard first(range) == UInt8(ascii: "\"") else { throw .badRequest("`\(path)\(name)` must be a string") }
        let text = bytes.withUnsafeBytes { JSONReader($0).decodeString(contentsOf: (range.lowerBound + 1)..<(range.upperBound - 1)) }
        guard !text.isEmpty else { throw .badRequest("`\(path)\(name)` must not be empty") }
        return text
    }

    /// A list of strings (first present alias), or nil when absent.
    func optionalStringList(_ names: String...) throws(APIError) -> [String]? {
        guard let (name, range) = find(names), !isNull(range) else { return nil }
        guard case .array(let items) = value(range) else { throw .badRequest("`\(path)\(name)` must be a list of strings") }
        var list: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else { throw .badRequest("`\(path)\(name)[\(index)]` must be a string") }
            list.append(text)
        }
        return list
    }

    /// An integer field within `range`, or nil when absent.
    func optionalInt(_ name: String, in allowed: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let range = members[name], !isNull(range) else { return nil }
        guard case .number(let text) = value(range), let number = Int(text), allowed.contains(number) else {
            throw .badRequest("`\(path)\(name)` must be a whole number from \(allowed.lowerBound) to \(allowed.upperBound)")
        }
        return number
    }

    /// A boolean field, or nil when absent.
    func optionalBool(_ name: String) throws(APIError) -> Bool? {
        guard let range = members[name], !isNull(range) else { return nil }
        guard case .bool(let flag) = value(range) else { throw .badRequest("`\(path)\(name)` must be true or false") }
        return flag
    }

    /// The raw JSON of a field (first present alias), exactly as sent; nil when absent.
    func rawJSON(_ names: String...) -> ArraySlice<UInt8>? {
        guard let (_, range) = find(names) else { return nil }
        return bytes[range]
    }

    /// A nested object field, or nil when absent.
    func object(_ name: String) throws(APIError) -> APIRequestBody? {
        guard let range = members[name], !isNull(range) else { return nil }
        guard first(range) == UInt8(ascii: "{") else { throw .badRequest("`\(path)\(name)` must be an object") }
        return APIRequestBody(bytes: bytes, object: range.lowerBound, path: "\(path)\(name).")
    }

    /// The elements of an array field, each an object, as bodies named `name[i].` (for `batch`).
    func objectList(_ name: String) throws(APIError) -> [APIRequestBody]? {
        guard let range = members[name], !isNull(range) else { return nil }
        guard first(range) == UInt8(ascii: "[") else { throw .badRequest("`\(path)\(name)` must be a list of objects") }
        var elements: [Range<Int>] = []
        bytes.withUnsafeBytes { raw in
            let reader = JSONReader(raw)
            var position = 0
            while let element = reader.element(ofArrayAt: range.lowerBound, position: position) {
                elements.append(element)
                position += 1
            }
        }
        var bodies: [APIRequestBody] = []
        for (index, element) in elements.enumerated() {
            guard bytes[element.lowerBound] == UInt8(ascii: "{") else {
                throw .badRequest("`\(path)\(name)[\(index)]` must be an object")
            }
            bodies.append(APIRequestBody(bytes: bytes, object: element.lowerBound, path: "\(path)\(name)[\(index)]."))
        }
        return bodies
    }

    /// This object as a nested body under `name` (for `{"publish": {...}}` commands).
    func nested(_ name: String, range: Range<Int>) -> APIRequestBody {
        APIRequestBody(bytes: bytes, object: range.lowerBound, path: "\(path)\(name).")
    }

    /// The members with their value ranges (for `batch` commands, whose one key is the method).
    var namedMembers: [(name: String, range: Range<Int>)] { members.map { ($0.key, $0.value) } }

    /// Whether the value at `range` is an object.
    func isObject(_ range: Range<Int>) -> Bool { first(range) == UInt8(ascii: "{") }

    private func value(_ range: Range<Int>) -> JSONValue { bytes.withUnsafeBytes { JSONReader($0).value(in: range) } }
}
