import GoDispatchCore
import NIOCore

/// A complete message (or control frame) read from a client.
enum WebSocketInbound {
    /// A text message, unmasked, reassembled and checked to be well-formed UTF-8.
    case text([UInt8])
    /// A binary message (the engine does not accept them; its bytes are dropped).
    case binary
    /// A ping with its application data (to echo in the pong).
    case ping(ByteBuffer)
    /// A pong.
    case pong
    /// A close frame: its code (nil if it had none; otherwise one a client may send) and its UTF-8 reason.
    case close(code: UInt16?, reason: String)
}

/// Why the client's bytes are not acceptable WebSocket; the connection is failed with ``closeCode``.
enum WebSocketProtocolError: Error, Equatable {
    /// Not valid RFC 6455 framing (close code 1002).
    case protocolViolation(String)
    /// A text message or a close reason that is not well-formed UTF-8 (close code 1007).
    case invalidUTF8(String)
    /// A message longer than `server.max_message_bytes` (close code 1009).
    case messageTooLarge(limit: Int)

    /// The close code to fail the connection with.
    var closeCode: UInt16 {
        switch self {
        case .protocolViolation: 1002
        case .invalidUTF8: 1007
        case .messageTooLarge: 1009
        }
    }

    /// The close reason sent to the client.
    var reason: String {
        switch self {
        case .protocolViolation(let what), .invalidUTF8(let what): what
        case .messageTooLarge(let limit): "message too large (limit \(limit) bytes)"
        }
    }
}

/// Reads client frames (RFC 6455 §5) from the bytes of a connection: checks the framing, unmasks,
/// reassembles fragmented messages, enforces the message size limit and checks text as it arrives —
/// fragment by fragment, and within a frame read by read — so invalid UTF-8 fails the connection at the
/// first bad byte (§8.1), not at the end of the message. Bytes of an incomplete frame are kept until the
/// rest arrives; between messages only a few bytes of state remain, so an idle connection costs
/// next to nothing here.
struct WebSocketFrameParser {
    /// The longest message accepted, in bytes (all fragments together).
    let maxMessageBytes: Int
    /// The start of a frame whose rest has not arrived yet.
    private var partial: ByteBuffer?
    /// Payload bytes of the frame in `partial` already checked as UTF-8 (text frames only).
    private var partialChecked = 0
    /// The fragments so far of an unfinished message.
    private var fragments: [UInt8]?
    /// The unfinished message is binary.
    private var fragmentsAreBinary = false
    /// The UTF-8 state of the text message being read; back at its start whenever a message ends well.
    private var utf8 = UTF8StreamValidator()

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
        guard let header = try WebSocketFrameHeader.read(input, at: start, maxMessageBytes: maxMessageBytes) else {
            return false
        }
        let isText: Bool
        switch header.opcode {
        case 0x1, 0x2:
            guard fragments == nil else {
                throw .protocolViolation("a new message began before the fragmented one finished")
            }
            isText = header.opcode == 0x1
        case 0x0:
            guard fragments != nil else { throw .protocolViolation("continuation frame with no message to continue") }
            isText = !fragmentsAreBinary
        default:
            isText = false
        }
        if !header.isControl, (fragments?.count ?? 0) + header.length > maxMessageBytes {
            throw .messageTooLarge(limit: maxMessageBytes)
        }
        let available = input.readableBytes - header.size
        guard available >= header.length else {
            if isText, available > partialChecked { try checkUTF8(ofIncomplete: input, header, upTo: available) }
            return false
        }

        let payload = Self.unmask(
            input, payloadAt: start + header.size, length: header.length, keyAt: start + header.maskingKeyOffset)
        input.moveReaderIndex(forwardBy: header.size + header.length)
        let checked = partialChecked
        partialChecked = 0
        if isText {
            let valid = payload.withUnsafeBytes { utf8.consume(UnsafeRawBufferPointer(rebasing: $0[checked...])) }
            guard valid else { throw .invalidUTF8("text message is not valid UTF-8") }
            guard !header.fin || utf8.isComplete else { throw .invalidUTF8("text message ends inside a character") }
        }

        switch header.opcode {
        case 0x1, 0x2:
            if header.fin {
                deliver(isText ? .text(payload) : .binary)
            } else {
                fragments = payload
                fragmentsAreBinary = !isText
            }
        case 0x0:
            fragments!.append(contentsOf: payload)
            if header.fin {
                let message = fragments!
                fragments = nil
                deliver(fragmentsAreBinary ? .binary : .text(message))
            }
        case 0x8:
            deliver(try Self.close(payload))
        case 0x9:
            deliver(.ping(ByteBuffer(bytes: payload)))
        default:
            deliver(.pong)
        }
        return true
    }

    /// Checks the payload bytes of an incomplete text frame that arrived since the last read, so a bad
    /// byte fails the connection now rather than when the frame (or the message) is complete.
    private mutating func checkUTF8(
        ofIncomplete input: ByteBuffer, _ header: WebSocketFrameHeader, upTo available: Int
    ) throws(WebSocketProtocolError) {
        let start = input.readerIndex
        let fresh = Self.unmask(
            input, payloadAt: start + header.size + partialChecked, length: available - partialChecked,
            keyAt: start + header.maskingKeyOffset, keyPhase: partialChecked)
        guard fresh.withUnsafeBytes({ utf8.consume($0) }) else { throw .invalidUTF8("text message is not valid UTF-8") }
        partialChecked = available
    }

    /// A close frame's payload as a message: nothing, or a code a client may send and a UTF-8 reason.
    private static func close(_ payload: [UInt8]) throws(WebSocketProtocolError) -> WebSocketInbound {
        guard !payload.isEmpty else { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw .protocolViolation("close frame with a 1-byte payload") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard WebSocketCloseCode.isValidFromPeer(code) else {
            throw .protocolViolation("invalid close code \(code)")
        }
        let reason = payload[2...]
        guard reason.withUnsafeBytes({ UTF8Validation.isValid($0) }) else {
            throw .invalidUTF8("close reason is not valid UTF-8")
        }
        return .close(code: code, reason: String(decoding: reason, as: UTF8.self))
    }

    /// Copies `length` payload bytes at `payloadAt`, XOR-ed with the 4-byte masking key at `keyAt`;
    /// `keyPhase` is the position of the first byte within the payload (the key repeats every 4 bytes).
    private static func unmask(
        _ buffer: ByteBuffer, payloadAt offset: Int, length: Int, keyAt keyOffset: Int, keyPhase: Int = 0
    ) -> [UInt8] {
        guard length > 0 else { return [] }
        return buffer.withUnsafeReadableBytes { raw in
            let base = offset - buffer.readerIndex
            let keyBase = keyOffset - buffer.readerIndex
            let key = (
                raw[keyBase + (keyPhase & 3)], raw[keyBase + ((keyPhase + 1) & 3)],
                raw[keyBase + ((keyPhase + 2) & 3)], raw[keyBase + ((keyPhase + 3) & 3)]
            )
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
