import NIOCore

/// The header of one client frame (RFC 6455 §5.2), read and checked before its payload has arrived, so
/// that broken framing and oversize messages are refused from the first bytes.
struct WebSocketFrameHeader: Equatable {
    /// The frame is the last of its message.
    let fin: Bool
    /// The opcode: 0x0 continuation, 0x1 text, 0x2 binary, 0x8 close, 0x9 ping, 0xA pong.
    let opcode: UInt8
    /// The payload length in bytes.
    let length: Int
    /// The header's size in bytes, masking key included: the payload starts this far from the frame's start.
    let size: Int

    /// Close, ping and pong (opcodes 0x8 and above).
    var isControl: Bool { opcode & 0x08 != 0 }

    /// Where the 4-byte masking key starts, from the frame's start.
    var maskingKeyOffset: Int { size - 4 }

    /// The opcodes RFC 6455 defines; the others are reserved (no extension was negotiated).
    private static let knownOpcodes: Set<UInt8> = [0x0, 0x1, 0x2, 0x8, 0x9, 0xA]

    /// Reads the header of the frame at `start`, or returns nil when its bytes have not all arrived (the
    /// masking key may still be missing). Throws when the header alone breaks the protocol: reserved bits
    /// or opcodes, an unmasked frame, a length not in its shortest form (§5.2: "the minimal number of
    /// bytes MUST be used"), a 64-bit length with its most significant bit set, a fragmented or long
    /// control frame — or a length no message may have (`maxMessageBytes`).
    static func read(_ buffer: ByteBuffer, at start: Int, maxMessageBytes: Int) throws(WebSocketProtocolError) -> Self? {
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        let fin = first & 0x80 != 0
        let opcode = first & 0x0F
        guard first & 0x70 == 0 else { throw .protocolViolation("reserved bits set (no extension was negotiated)") }
        guard second & 0x80 != 0 else { throw .protocolViolation("client frames must be masked") }

        var length = Int(second & 0x7F)
        var size = 2
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            guard extended >= 126 else {
                throw .protocolViolation("payload length \(extended) sent in the 16-bit form (must use the shortest form)")
            }
            length = Int(extended)
            size = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended & (1 << 63) == 0 else {
                throw .protocolViolation("64-bit payload length with its most significant bit set")
            }
            guard extended >= 65_536 else {
                throw .protocolViolation("payload length \(extended) sent in the 64-bit form (must use the shortest form)")
            }
            guard extended <= UInt64(Int32.max) else { throw .messageTooLarge(limit: maxMessageBytes) }
            length = Int(extended)
            size = 10
        }
        size += 4  // the masking key

        guard knownOpcodes.contains(opcode) else { throw .protocolViolation("unknown opcode \(opcode)") }
        if opcode & 0x08 != 0 {
            guard fin else { throw .protocolViolation("control frames must not be fragmented") }
            guard length <= 125 else { throw .protocolViolation("control frame longer than 125 bytes") }
        }
        return Self(fin: fin, opcode: opcode, length: length, size: size)
    }
}
