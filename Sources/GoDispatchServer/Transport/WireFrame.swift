import NIOCore

/// WebSocket frames encoded straight to wire bytes (RFC 6455 §5.2). A server never masks its frames,
/// so the bytes of a frame are the same for every recipient: a fan-out encodes a message once and
/// hands the same buffer to every connection.
enum WireFrame {
    /// The frame opcodes the server sends.
    enum Opcode: UInt8 {
        case text = 0x1
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// The largest header a server frame needs: 2 bytes plus an 8-byte extended length.
    static let maxHeaderSize = 10

    /// A final, unmasked frame carrying `payload`.
    static func encode(
        _ opcode: Opcode, payload: some Collection<UInt8>, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: maxHeaderSize + payload.count)
        writeHeader(opcode, length: payload.count, into: &buffer)
        buffer.writeBytes(payload)
        return buffer
    }

    /// A close frame: the code, then at most 123 bytes of reason (the whole control frame stays ≤ 125 bytes).
    static func close(code: UInt16?, reason: String, allocator: ByteBufferAllocator = ByteBufferAllocator())
        -> ByteBuffer
    {
        var payload: [UInt8] = []
        if let code {
            payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
            var reasonBytes = Array(reason.utf8)
            if reasonBytes.count > 123 {
                var end = 123
                while reasonBytes[end] & 0xC0 == 0x80 { end -= 1 }  // do not cut a character in two
                reasonBytes.removeSubrange(end...)
            }
            payload += reasonBytes
        }
        return encode(.close, payload: payload, allocator: allocator)
    }

    private static func writeHeader(_ opcode: Opcode, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode.rawValue)  // FIN + opcode
        switch length {
        case ..<126:
            buffer.writeInteger(UInt8(length))
        case ..<65536:
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
    }
}
