/// Builds server-to-client frames: `{"event","target","payload","from"}` and error frames.
public enum FrameEncoder {
    /// A message frame. `payload` is JSON bytes (nil = omitted); `from` is the sender's verified user id;
    /// `ref` (JSON text, nil = omitted) is the `id` of the message this frame answers.
    public static func message(
        event: UnsafeRawBufferPointer, target: UnsafeRawBufferPointer?, payloadJSON: UnsafeRawBufferPointer?,
        from: String?, ref: ArraySlice<UInt8>? = nil
    ) -> OutboundFrame {
        var writer = JSONWriter(capacity: 48 + event.count + (target?.count ?? 0) + (payloadJSON?.count ?? 0) + (ref?.count ?? 0))
        writer.writeASCII("{\"event\":")
        writer.writeString(utf8: event)
        if let target, target.count > 0 {
            writer.writeASCII(",\"target\":")
            writer.writeString(utf8: target)
        }
        if let payloadJSON {
            writer.writeASCII(",\"payload\":")
            writer.writeRaw(payloadJSON)
        }
        if let from {
            writer.writeASCII(",\"from\":")
            writer.writeString(from)
        }
        if let ref {
            writer.writeASCII(",\"ref\":")
            writer.writeRaw(ref)
        }
        writer.writeASCII("}")
        return OutboundFrame(bytes: writer.bytes)
    }

    /// An error frame: `{"event":"error","payload":{"code":…,"message":…,"ref":…}}`.
    public static func error(_ code: ErrorCode, _ message: String, ref: [UInt8]? = nil, pointer: String? = nil) -> OutboundFrame {
        var writer = JSONWriter(capacity: 64 + message.utf8.count)
        writer.writeASCII("{\"event\":\"error\",\"payload\":{\"code\":")
        writer.writeString(code.rawValue)
        writer.writeASCII(",\"message\":")
        writer.writeString(message)
        if let ref {
            writer.writeASCII(",\"ref\":")
            writer.writeRaw(ref)
        }
        if let pointer {
            writer.writeASCII(",\"pointer\":")
            writer.writeString(pointer)
        }
        writer.writeASCII("}}")
        return OutboundFrame(bytes: writer.bytes, errorCode: code)
    }
}
