import CGoDispatchABI

/// What a pipeline's templates can read for one message: the envelope, the sender and earlier results.
struct Cargo {
    let message: InboundMessage
    /// The connection that sent the message; nil for a server event, whose `user.*`, `connection.id`
    /// are null (the compiler refuses templates naming them there).
    let origin: Connection?
    /// Results of earlier steps with an `id`, as JSON.
    var stepResults: [String: [UInt8]] = [:]
    /// How the connection closed, for the `lifecycle.disconnect` pipeline.
    var close: (code: UInt16, reason: String)? = nil

    /// Looks up a reference; a missing path is null.
    func resolve(_ reference: TemplateReference) -> ResolvedValue {
        switch reference.root {
        case .payload:
            guard let range = message.payloadRange else { return .null }
            return message.bytes.withUnsafeBytes { Self.navigate(JSONReader($0), from: range, path: reference.path) }
        case .target:
            return message.target.map { .string(Array($0.utf8)) } ?? .null
        case .event:
            return .string(Array(message.event.utf8))
        case .userID:
            guard let origin else { return .null }
            return .string(Array(origin.user.id.utf8))
        case .userPermissions:
            guard let origin else { return .null }
            var writer = JSONWriter()
            writer.write(.array(origin.user.permissions.snapshot.sorted().map(JSONValue.string)))
            return .json(writer.bytes)
        case .userClaims:
            guard let claims = origin?.claims else { return .null }
            return claims.withUnsafeBytes { raw in
                let reader = JSONReader(raw)
                let start = reader.skipWhitespace(from: 0)
                guard start < raw.count else { return .null }
                return Self.navigate(reader, from: start..<reader.skipValue(at: start), path: reference.path)
            }
        case .connectionID:
            guard let origin else { return .null }
            return .string(Array(origin.id.utf8))
        case .messageID:
            guard let range = message.idRange else { return .null }
            return message.bytes.withUnsafeBytes { ResolvedValue.fromJSON(JSONReader($0), range) }
        case .closeCode:
            return close.map { .json(Array(String($0.code).utf8)) } ?? .null
        case .closeReason:
            return close.map { .string(Array($0.reason.utf8)) } ?? .null
        case .step(let id):
            guard let result = stepResults[id] else { return .null }
            return result.withUnsafeBytes { raw in
                let reader = JSONReader(raw)
                let start = reader.skipWhitespace(from: 0)
                guard start < raw.count else { return .null }
                return Self.navigate(reader, from: start..<reader.skipValue(at: start), path: reference.path)
            }
        }
    }

    /// Follows object keys and array indexes from `range`.
    private static func navigate(_ reader: JSONReader, from range: Range<Int>, path: [String]) -> ResolvedValue {
        guard let found = locate(reader, from: range, path: path) else { return .null }
        return ResolvedValue.fromJSON(reader, found)
    }

    /// The range of the value at `path` from the value at `range`; nil where the path leads nowhere.
    private static func locate(_ reader: JSONReader, from range: Range<Int>, path: [String]) -> Range<Int>? {
        var current = range
        for component in path {
            let start = current.lowerBound
            switch reader.bytes[start] {
            case UInt8(ascii: "{"):
                var key = component
                let found = key.withUTF8 { reader.member(ofObjectAt: start, key: UnsafeRawBufferPointer($0)) }
                guard let found else { return nil }
                current = found
            case UInt8(ascii: "["):
                guard let index = Int(component), let found = reader.element(ofArrayAt: start, position: index) else {
                    return nil
                }
                current = found
            default:
                return nil
            }
        }
        return current
    }

    /// Resolves a compiled template straight into `arena` as a `gd_value`. `{{payload}}` (and any path
    /// into it that names an object, array, number or boolean) and `{{target}}` are copied from the
    /// message's bytes once, with no array in between; everything else goes through ``evaluate(_:)``.
    func cValue(of template: Template, in arena: ByteArena) -> gd_value {
        guard case .reference(let reference) = template else { return evaluate(template).cValue(in: arena) }
        switch reference.root {
        case .payload:
            guard let range = message.payloadRange else { return ResolvedValue.null.cValue(in: arena) }
            return message.bytes.withUnsafeBytes { raw in
                let reader = JSONReader(raw)
                guard let found = Self.locate(reader, from: range, path: reference.path) else {
                    return ResolvedValue.null.cValue(in: arena)
                }
                switch raw[found.lowerBound] {
                case UInt8(ascii: "\""), UInt8(ascii: "n"):  // strings are unescaped; null has no text
                    return ResolvedValue.fromJSON(reader, found).cValue(in: arena)
                default:
                    return gd_value(kind: Int32(GD_VALUE_JSON.rawValue), text: arena.copy(UnsafeRawBufferPointer(rebasing: raw[found])))
                }
            }
        case .target:
            guard let target = message.target else { return ResolvedValue.null.cValue(in: arena) }
            return gd_value(kind: Int32(GD_VALUE_STRING.rawValue), text: arena.copy(target))
        default:
            return evaluate(template).cValue(in: arena)
        }
    }

    /// Resolves a compiled template to a value.
    func evaluate(_ template: Template) -> ResolvedValue {
        switch template {
        case .literal(let value):
            return Self.literalValue(value)
        case .reference(let reference):
            return resolve(reference)
        case .text(let parts):
            var output: [UInt8] = []
            for part in parts {
                switch part {
                case .literal(let text): output.append(contentsOf: text.utf8)
                case .reference(let reference): resolve(reference).appendText(to: &output)
                }
            }
            return .string(output)
        case .object, .array:
            var writer = JSONWriter()
            write(template, to: &writer)
            return .json(writer.bytes)
        }
    }

    private func write(_ template: Template, to writer: inout JSONWriter) {
        switch template {
        case .object(let members):
            writer.writeASCII("{")
            for (index, member) in members.enumerated() {
                if index > 0 { writer.writeASCII(",") }
                writer.writeString(member.0)
                writer.writeASCII(":")
                write(member.1, to: &writer)
            }
            writer.writeASCII("}")
        case .array(let items):
            writer.writeASCII("[")
            for (index, item) in items.enumerated() {
                if index > 0 { writer.writeASCII(",") }
                write(item, to: &writer)
            }
            writer.writeASCII("]")
        case .literal(let value):
            writer.write(value)
        default:
            evaluate(template).write(to: &writer)
        }
    }

    /// Resolves a template as text (for `requires`).
    func text(_ template: Template) -> String {
        switch evaluate(template) {
        case .null: return ""
        case .string(let bytes), .json(let bytes): return String(decoding: bytes, as: UTF8.self)
        }
    }
}
