/// A server → client frame of `Benchmarks/soak.yaml`, read by scanning for the few keys the soak needs.
///
/// The engine writes these frames itself from the configuration's templates, so their shape is known:
/// `{"event":"message","target":"room-3","payload":{"mid":17,"text":"…"},"from":"s3"}`, acks
/// `{"event":"published","target":"room-3","payload":{"ref":17}}` and errors
/// `{"event":"error","payload":{"code":"forbidden","message":"…","ref":17}}`. A full JSON parse per frame
/// would cost the driver more CPU than the server spends delivering it, on a machine they share.
enum ServerFrame: Equatable, Sendable {
    /// A room message (`event: message`) carrying the publisher's message id.
    case message(id: Int)
    /// The ack of a `publish`.
    case published(ref: Int)
    /// The ack of a `room.join`.
    case joined(ref: Int)
    /// The ack of a `room.leave`.
    case left(ref: Int)
    /// An error frame: its code, and the `ref` of the message it answers when there is one.
    case error(code: String, ref: Int?)
    /// Anything else (kept whole for the report).
    case other(String)

    /// Reads one text frame.
    init(_ text: String) {
        let bytes = Array(text.utf8)
        switch Self.string(after: "\"event\":\"", in: bytes) {
        case "message":
            if let id = Self.integer(after: "\"mid\":", in: bytes) {
                self = .message(id: id)
            } else {
                self = .other(text)
            }
        case "published":
            if let ref = Self.integer(after: "\"ref\":", in: bytes) {
                self = .published(ref: ref)
            } else {
                self = .other(text)
            }
        case "room.joined":
            if let ref = Self.integer(after: "\"ref\":", in: bytes) {
                self = .joined(ref: ref)
            } else {
                self = .other(text)
            }
        case "room.left":
            if let ref = Self.integer(after: "\"ref\":", in: bytes) {
                self = .left(ref: ref)
            } else {
                self = .other(text)
            }
        case "error":
            self = .error(
                code: Self.string(after: "\"code\":\"", in: bytes) ?? "?",
                ref: Self.integer(after: "\"ref\":", in: bytes))
        default:
            self = .other(text)
        }
    }

    /// The string value that starts right after `key` (which ends with the opening quote).
    static func string(after key: String, in bytes: [UInt8]) -> String? {
        guard let start = bytes.firstRange(of: Array(key.utf8))?.upperBound,
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\""))
        else { return nil }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The non-negative integer that starts right after `key`.
    static func integer(after key: String, in bytes: [UInt8]) -> Int? {
        guard let start = bytes.firstRange(of: Array(key.utf8))?.upperBound else { return nil }
        var value = 0
        var index = start
        while index < bytes.endIndex, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        return index > start ? value : nil
    }
}
