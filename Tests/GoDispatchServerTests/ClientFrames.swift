import NIOCore

@testable import GoDispatchServer

/// How a client frame writes its payload length (RFC 6455 §5.2); the server must refuse all but the shortest.
enum LengthForm: Sendable, CustomStringConvertible {
    /// The shortest form for the length (what a correct client sends).
    case shortest
    /// The 16-bit extended form (126 + 2 bytes), whatever the length.
    case sixteenBit
    /// The 64-bit extended form (127 + 8 bytes), whatever the length.
    case sixtyFourBit
    /// The 64-bit form with its most significant bit set as well.
    case sixtyFourBitHighBitSet

    var description: String {
        switch self {
        case .shortest: "shortest"
        case .sixteenBit: "16-bit"
        case .sixtyFourBit: "64-bit"
        case .sixtyFourBitHighBitSet: "64-bit, top bit set"
        }
    }
}

/// A client frame as it travels on the wire: header, masking key, masked payload.
func clientFrame(
    opcode: UInt8, fin: Bool = true, payload: [UInt8], masked: Bool = true, reserved: UInt8 = 0,
    key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D], lengthForm: LengthForm = .shortest
) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | reserved | opcode]
    let mask: UInt8 = masked ? 0x80 : 0
    func sixtyFour(_ length: UInt64) {
        bytes.append(mask | 127)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((length >> UInt64(shift)) & 0xFF)) }
    }
    switch (lengthForm, payload.count) {
    case (.shortest, ..<126): bytes.append(mask | UInt8(payload.count))
    case (.shortest, ..<65536), (.sixteenBit, _):
        bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    case (.shortest, _), (.sixtyFourBit, _): sixtyFour(UInt64(payload.count))
    case (.sixtyFourBitHighBitSet, _): sixtyFour(UInt64(payload.count) | 1 << 63)
    }
    guard masked else { return bytes + payload }
    bytes += key
    for (index, byte) in payload.enumerated() { bytes.append(byte ^ key[index % 4]) }
    return bytes
}

/// A client close frame with `code` and `reason` bytes.
func clientClose(_ code: UInt16, reason: [UInt8] = []) -> [UInt8] {
    clientFrame(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
}

/// What a parser delivers, in a form tests can compare.
enum Delivered: Equatable {
    case text(String), binary, ping([UInt8]), pong, close(UInt16?, String)
}

/// Feeds `chunks` to a fresh parser and returns what it delivered, the error it stopped with, and how
/// many chunks it had read when it stopped (all of them when there was no error).
func parse(_ chunks: [[UInt8]], limit: Int = 1 << 20) -> (
    delivered: [Delivered], error: WebSocketProtocolError?, chunksRead: Int
) {
    var parser = WebSocketFrameParser(maxMessageBytes: limit)
    var delivered: [Delivered] = []
    var read = 0
    do {
        for chunk in chunks {
            read += 1
            try parser.consume(ByteBuffer(bytes: chunk)) { message in
                switch message {
                case .text(let bytes): delivered.append(.text(String(decoding: bytes, as: UTF8.self)))
                case .binary: delivered.append(.binary)
                case .ping(let data): delivered.append(.ping(Array(data.readableBytesView)))
                case .pong: delivered.append(.pong)
                case .close(let code, let reason): delivered.append(.close(code, reason))
                }
            }
        }
        return (delivered, nil, read)
    } catch {
        return (delivered, error, read)
    }
}
