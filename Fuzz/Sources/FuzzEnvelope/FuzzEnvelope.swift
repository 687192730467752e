// Fuzzes the envelope parser (`EnvelopeParser.parse`), the first thing every client message meets.
//
// Oracle: the materialized document (`JSONReader.parse`) decides independently whether the envelope
// is acceptable — an object whose last `event` is a string of 1 to 128 bytes, whose `target` is a
// string or null and whose `id` is a string or number — and what its fields are; the parser must
// agree on both, and the ranges it reports must hold exactly those values.
import FuzzSupport
import GoDispatchCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let document = try? JSONReader.parse(bytes)
    let expected = document.flatMap(Expected.init)
    let message: InboundMessage
    do {
        message = try EnvelopeParser.parse(bytes)
    } catch {
        fuzzCheck(expected == nil, "refused an acceptable envelope: \(error.message)")
        // A readable id is echoed (as `ref`) whatever else is wrong with the envelope.
        if let document, let id = Expected.last("id", in: document), Expected.isStringOrNumber(id) {
            fuzzCheck(error.idJSON.flatMap { try? JSONReader.parse($0) } == id, "the error does not carry the id")
        }
        return 0
    }
    guard let expected else { fuzzFail("accepted an envelope it should refuse") }
    fuzzCheck(message.bytes == bytes, "the message's bytes are not the input")
    fuzzCheck(message.event.utf8.elementsEqual(expected.event.utf8), "event differs")
    fuzzCheck(
        message.target.map { Array($0.utf8) } == expected.target.map { Array($0.utf8) }, "target differs")
    fuzzCheck(json(message.payloadJSON) == expected.payload, "payload range does not hold the payload")
    fuzzCheck(json(message.idJSON) == expected.id, "id range does not hold the id")
    return 0
}

/// The value of a slice of the message, or nil.
private func json(_ slice: ArraySlice<UInt8>?) -> JSONValue? {
    slice.flatMap { try? JSONReader.parse(Array($0)) }
}

/// What the envelope should read as, decided from the materialized document.
private struct Expected {
    let event: String
    let target: String?
    let payload: JSONValue?
    let id: JSONValue?

    init?(_ document: JSONValue) {
        guard case .object = document, case .string(let event)? = Self.last("event", in: document),
            !event.isEmpty, event.utf8.count <= EnvelopeParser.maxEventLength
        else { return nil }
        switch Self.last("target", in: document) {
        case nil, .null?: target = nil
        case .string(let text)?: target = text
        default: return nil
        }
        let id = Self.last("id", in: document)
        if let id, !Self.isStringOrNumber(id) { return nil }
        self.event = event
        self.id = id
        payload = Self.last("payload", in: document)
    }

    /// The last member named `key` (compared as bytes), as the reader's scan keeps the last one.
    static func last(_ key: String, in document: JSONValue) -> JSONValue? {
        guard case .object(let members) = document else { return nil }
        return members.last { $0.0.utf8.elementsEqual(key.utf8) }?.1
    }

    static func isStringOrNumber(_ value: JSONValue) -> Bool {
        switch value {
        case .string, .number: true
        default: false
        }
    }
}
