/// A client message: `{"event","target","payload","id"}`, scanned without materializing the payload.
public struct InboundMessage: Sendable {
    /// The message's bytes (validated JSON).
    public let bytes: [UInt8]
    /// The event name.
    public let event: String
    /// The target, if the client sent one.
    public let target: String?
    /// Where the payload's JSON sits in ``bytes``.
    public let payloadRange: Range<Int>?
    /// Where the id's JSON (a string or number) sits in ``bytes``.
    public let idRange: Range<Int>?

    /// The payload's JSON text, or nil.
    public var payloadJSON: ArraySlice<UInt8>? { payloadRange.map { bytes[$0] } }
    /// The id's JSON text, or nil.
    public var idJSON: ArraySlice<UInt8>? { idRange.map { bytes[$0] } }
}

/// Why a client message was refused before routing.
public struct EnvelopeError: Error, Sendable, Equatable {
    /// The reason, for the `bad_request` error frame.
    public let message: String
    /// The message id when it could be read, echoed as `ref`.
    public let idJSON: [UInt8]?
}

/// Parses and checks envelopes.
public enum EnvelopeParser {
    /// Longest event name accepted.
    public static let maxEventLength = 128

    /// Validates `bytes` as JSON and reads the envelope's fields.
    public static func parse(_ bytes: [UInt8]) throws(EnvelopeError) -> InboundMessage {
        let scanned: Result<InboundMessage, EnvelopeError> = bytes.withUnsafeBytes { raw in
            let reader = JSONReader(raw)
            let range: Range<Int>
            do throws(JSONSyntaxError) {
                range = try reader.validate()
            } catch {
                return .failure(EnvelopeError(message: "malformed JSON: \(error.reason) at byte \(error.offset)", idJSON: nil))
            }
            guard raw[range.lowerBound] == UInt8(ascii: "{") else {
                return .failure(EnvelopeError(message: "a message must be a JSON object with an `event`", idJSON: nil))
            }
            var eventRange: Range<Int>?
            var targetRange: Range<Int>?
            var payloadRange: Range<Int>?
            var idRange: Range<Int>?
            reader.forEachMember(ofObjectAt: range.lowerBound) { key, value in
                switch key.count {
                case 5 where reader.keyEquals(key, Keys.event): eventRange = value
                case 6 where reader.keyEquals(key, Keys.target): targetRange = value
                case 7 where reader.keyEquals(key, Keys.payload): payloadRange = value
                case 2 where reader.keyEquals(key, Keys.id): idRange = value
                default:
                    // An escaped key (`"\u0065vent"`) is longer than the name it spells: compare it decoded,
                    // or another JSON parser would read a different envelope from the same bytes.
                    guard reader.bytes[key].contains(UInt8(ascii: "\\")) else { break }
                    if reader.keyEquals(key, Keys.event) {
                        eventRange = value
                    } else if reader.keyEquals(key, Keys.target) {
                        targetRange = value
                    } else if reader.keyEquals(key, Keys.payload) {
                        payloadRange = value
                    } else if reader.keyEquals(key, Keys.id) {
                        idRange = value
                    }
                }
                return true
            }
            var idJSON: [UInt8]?
            if let id = idRange {
                let first = raw[id.lowerBound]
                guard first == UInt8(ascii: "\"") || first == UInt8(ascii: "-") || (0x30...0x39).contains(first) else {
                    return .failure(EnvelopeError(message: "`id` must be a string or a number", idJSON: nil))
                }
                idJSON = Array(raw[id])
            }
            guard let eventRange, raw[eventRange.lowerBound] == UInt8(ascii: "\"") else {
                return .failure(EnvelopeError(message: "`event` is missing or not a string", idJSON: idJSON))
            }
            let event = reader.decodeString(contentsOf: (eventRange.lowerBound + 1)..<(eventRange.upperBound - 1))
            guard !event.isEmpty, event.utf8.count <= maxEventLength else {
                return .failure(EnvelopeError(message: "`event` must be 1 to \(maxEventLength) bytes", idJSON: idJSON))
            }
            var target: String?
            if let targetRange, raw[targetRange.lowerBound] != UInt8(ascii: "n") {
                guard raw[targetRange.lowerBound] == UInt8(ascii: "\"") else {
                    return .failure(EnvelopeError(message: "`target` must be a string", idJSON: idJSON))
                }
                target = reader.decodeString(contentsOf: (targetRange.lowerBound + 1)..<(targetRange.upperBound - 1))
            }
            return .success(
                InboundMessage(
                    bytes: bytes, event: event, target: target, payloadRange: payloadRange, idRange: idRange))
        }
        return try scanned.get()
    }

    private enum Keys {
        nonisolated(unsafe) static let event = UnsafeRawBufferPointer(StaticString("event"))
        nonisolated(unsafe) static let target = UnsafeRawBufferPointer(StaticString("target"))
        nonisolated(unsafe) static let payload = UnsafeRawBufferPointer(StaticString("payload"))
        nonisolated(unsafe) static let id = UnsafeRawBufferPointer(StaticString("id"))
    }
}

extension UnsafeRawBufferPointer {
    /// Views a static string's UTF-8 (static storage lives for the whole process).
    init(_ text: StaticString) {
        self.init(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }
}
