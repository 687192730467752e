import NIOCore

/// A complete message (or control frame) read from a client.
enum WebSocketInbound {
    /// A text message, unmasked and reassembled (not yet checked for valid UTF-8).
    case text([UInt8])
    /// A binary message (the engine does not accept them; its bytes are dropped).
    case binary
    /// A ping with its application data (to echo in the pong).
    case ping(ByteBuffer)
    /// A pong.
    case pong
    /// A close frame: its code (nil if it had none) and reason.
    case close(code: UInt16?, reason: String)
}

/// Why the client's bytes are not acceptable WebSocket; the connection is failed with ``closeCode``.
enum WebSocketProtocolError: Error, Equatable {
    /// Not valid RFC 6455 framing (close code 1002).
    case protocolViolation(String)
    /// A message longer than `server.max_message_bytes` (close code 1009).
    case messageTooLarge(limit: Int)

    /// The close code to fail the connection with.
    var closeCode: UInt16 {
        switch self {
        case .protocolViolation: 1002
        case .messageTooLarge: 1009
        }
    }

    /// The close reason sent to the client.
    var reason: String {
        switch self {
        case .protocolViolation(let what): what
        case .messageTooLarge(let limit): "message too large (limit \(limit) bytes)"
        }
    }
}

/// Reads client frames (RFC 6455 §5) from the bytes of a connection: checks the framing, unmasks,
/// reassembles fragmented messages and enforces the message size limit. Bytes of an incomplete frame
/// are kept until the rest arrives; nothing else is held between reads, so an idle connection costs
/// nothing here.
struct WebSocketFrameParser {
    /// The longest message accepted, in bytes (all fragments together).
    let maxMessageBytes: Int
    /// The start of a frame whose rest has not arrived yet.
    private var partial: ByteBuffer?
    /// The fragments so far of an unfinished message.
    private var fragments: [UInt8]?
    /// The unfinished message is binary.
    private var fragmentsAreBinary = false

    init(maxMessageBytes: Int) { self.maxMessageBytes = maxMessageBytes }

    /// Reads `bytes`, calling `deliver` for every complete message in order. After an error the
    /// connection must be failed; the parser's state is then meaningless.
    mutating func consume(
        _ bytes: ByteBuffer, deliver: (WebSocketInbound) -> Void
    ) throws(WebSocketProtocolError) {
        var input: ByteBuffer
        var inputIsOurs = false
        if var held = partial {
            partial = nil
            held.writeImmutableBuffer(bytes)
            input = held
            inputIsOurs = true
        } else {
            input = bytes
        }
        while try readFrame(&input, deliver: deliver) {}
        guard input.readableBytes > 0 else { return }
        if inputIsOurs {
            input.discardReadBytes()
            partial = input
            return
        }
        // Keep only the unread bytes, in a buffer of our own (not the channel's receive buffer).
        var held = ByteBufferAllocator().buffer(capacity: max(input.readableBytes, 256))
        held.writeImmutableBuffer(input)
        partial = held
    }

    /// Reads the next frame of `input` if it is all there, delivering the message it completes (a
    /// fragment may complete none). Returns false when more bytes are needed.
    private mutating func readFrame(
        _ input: inout ByteBuffer, deliver: (WebSocketInbound) -> Void
    ) throws(WebSocketProtocolError) -> Bool {
        let start = input.readerIndex
        guard input.readableBytes >= 2,
            let first = input.getInteger(at: start, as: UInt8.self),
            let second = input.getInteger(at: start + 1, as: UInt8.self)
        else { return false }
        let fin = first & 0x80 != 0
        let opcode = first & 0x0F
        guard first & 0x70 == 0 else { throw .protocolViolation("reserved bits set (no extension was negotiated)") }
        guard second & 0x80 != 0 else { throw .protocolViolation("client frames must be masked") }

        var headerLength = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = input.getInteger(at: start + 2, as: UInt16.self) else { return false }
            length = Int(extended)
            headerLength = 4
        } else if length == 127 {
            guard let extended = input.getInteger(at: start + 2, as: UInt64.self) else { return false }
            guard extended <= UInt64(Int32.max) else { throw .messageTooLarge(limit: maxMessageBytes) }
            length = Int(extended)
            headerLength = 10
        }
        headerLength += 4  // the masking key

        let isControl = opcode & 0x08 != 0
        if isControl {
            guard fin else { throw .protocolViolation("control frames must not be fragmented") }
            guard length <= 125 else { throw .protocolViolation("control frame longer than 125 bytes") }
        } else if (fragments?.count ?? 0) + length > maxMessageBytes {
            throw .messageTooLarge(limit: maxMessageBytes)
        }
        guard input.readableBytes >= headerLength + length else { return false }

        let payload = Self.unmask(input, payloadAt: start + headerLength, length: length, keyAt: start + headerLength - 4)
        input.moveReaderIndex(forwardBy: headerLength + length)

        switch opcode {
        case 0x1, 0x2:
            guard fragments == nil else {
                throw .protocolViolation("a new message began before the fragmented one finished")
            }
            if fin {
                deliver(opcode == 0x1 ? .text(payload) : .binary)
            } else {
                fragments = payload
                fragmentsAreBinary = opcode == 0x2
            }
        case 0x0:
            guard fragments != nil else { throw .protocolViolation("continuation frame with no message to continue") }
            fragments!.append(contentsOf: payload)
            if fin {
                let message = fragments!
                fragments = nil
                deliver(fragmentsAreBinary ? .binary : .text(message))
            }
        case 0x8:
            switch payload.count {
            case 0: deliver(.close(code: nil, reason: ""))
            case 1: throw .protocolViolation("close frame with a 1-byte payload")
            default:
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                deliver(.close(code: code, reason: String(decoding: payload[2...], as: UTF8.self)))
            }
        case 0x9:
            deliver(.ping(ByteBuffer(bytes: payload)))
        case 0xA:
            deliver(.pong)
        default:
            throw .protocolViolation("unknown opcode \(opcode)")
        }
        return true
    }

    /// Copies `length` payload bytes at `payloadAt`, XOR-ed with the 4-byte masking key at `keyAt`.
    private static func unmask(_ buffer: ByteBuffer, payloadAt offset: Int, length: Int, keyAt keyOffset: Int)
        -> [UInt8]
    {
        guard length > 0 else { return [] }
        return buffer.withUnsafeReadableBytes { raw in
            let base = offset - buffer.readerIndex
            let keyBase = keyOffset - buffer.readerIndex
            let key = (raw[keyBase], raw[keyBase + 1], raw[keyBase + 2], raw[keyBase + 3])
            return [UInt8](unsafeUninitializedCapacity: length) { out, count in
                var i = 0
                while i + 4 <= length {
                    out[i] = raw[base + i] ^ key.0
                    out[i + 1] = raw[base + i + 1] ^ key.1
                    out[i + 2] = raw[base + i + 2] ^ key.2
                    out[i + 3] = raw[base + i + 3] ^ key.3
                    i += 4
                }
                let keyWord = UInt32(key.0) | UInt32(key.1) << 8 | UInt32(key.2) << 16 | UInt32(key.3) << 24
                while i < length {
                    out[i] = raw[base + i] ^ UInt8(truncatingIfNeeded: keyWord >> (UInt32(i & 3) * 8))
                    i += 1
                }
                count = length
            }
        }
    }
}
