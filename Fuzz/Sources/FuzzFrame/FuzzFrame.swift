// Fuzzes the WebSocket frame parser through its interface, `consume(_:deliver:)`, as the transport
// calls it: bytes arrive in chunks of any size, in buffers whose reader index is not zero.
//
// Input: byte 0 picks `maxMessageBytes`, byte 1 seeds how the stream is cut, the rest is the stream.
// Oracles: the messages delivered and the error thrown do not depend on how the bytes are cut (whole,
// at random points, byte by byte when short); no text message is longer than the limit; no ping carries more
// than 125 bytes.
import FuzzSupport
import NIOCore

@testable import GoDispatchServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    let limits = [0, 1, 2, 125, 126, 127, 300, 65_536]
    let maxMessageBytes = limits[Int(input[0] & 0x07)]
    let stream = Array(input[2...])
    var random = SplitMix(seed: UInt64(input[1]) << 32 | UInt64(input.count))

    let whole = parse(stream, cuts: [stream.count], maxMessageBytes: maxMessageBytes, random: &random)
    let cuts = randomCuts(stream.count, style: input[1], random: &random)
    let split = parse(stream, cuts: cuts, maxMessageBytes: maxMessageBytes, random: &random)
    fuzzCheck(whole == split, "cut at \(cuts), the parser saw \(split), whole it saw \(whole)")
    if stream.count <= 96 {  // byte by byte is slow in a debug ASan build: short streams only
        let bytewise = parse(
            stream, cuts: Array(repeating: 1, count: stream.count), maxMessageBytes: maxMessageBytes, random: &random)
        fuzzCheck(whole == bytewise, "byte by byte the parser saw \(bytewise), whole it saw \(whole)")
    }
    for message in whole.messages {
        switch message {
        case .text(let bytes): fuzzCheck(bytes.count <= maxMessageBytes, "a text message over the limit")
        case .ping(let bytes): fuzzCheck(bytes.count <= 125, "a ping longer than 125 bytes")
        default: break
        }
    }
    return 0
}

/// What the parser made of a stream: the messages, then the error that stopped it (if any).
struct Outcome: Equatable, CustomStringConvertible {
    /// A delivered message, with its bytes copied out of any buffer.
    enum Message: Equatable {
        case text([UInt8])
        case binary
        case ping([UInt8])
        case pong
        case close(UInt16?, String)
        case other(String)
    }

    var messages: [Message] = []
    var error: WebSocketProtocolError?

    var description: String { "\(messages) then \(error.map { "\($0)" } ?? "no error")" }
}

/// Feeds `stream` cut into chunks of the sizes in `cuts` (the last chunk takes the rest).
func parse(_ stream: [UInt8], cuts: [Int], maxMessageBytes: Int, random: inout SplitMix) -> Outcome {
    var parser = WebSocketFrameParser(maxMessageBytes: maxMessageBytes)
    var outcome = Outcome()
    var offset = 0
    var index = 0
    while offset < stream.count || index == 0 {
        let length = index < cuts.count ? min(cuts[index], stream.count - offset) : stream.count - offset
        index += 1
        // A buffer whose reader index is not at its start, like a channel's receive buffer.
        let padding = Int(random.next() % 8)
        var buffer = ByteBufferAllocator().buffer(capacity: padding + length)
        buffer.writeRepeatingByte(0xA5, count: padding)
        buffer.moveReaderIndex(forwardBy: padding)
        buffer.writeBytes(stream[offset..<(offset + length)])
        offset += length
        do {
            try parser.consume(buffer) { outcome.messages.append(message($0)) }
        } catch {
            outcome.error = error
            break
        }
    }
    return outcome
}

/// Copies a delivered message out of the parser's types.
func message(_ inbound: WebSocketInbound) -> Outcome.Message {
    switch inbound {
    case .text(let bytes): .text(Array(bytes))
    case .binary: .binary
    case .ping(let buffer): .ping(Array(buffer.readableBytesView))
    case .pong: .pong
    case .close(let code, let reason): .close(code, reason)
    @unknown default: .other("\(inbound)")
    }
}

/// Chunk sizes for a stream of `count` bytes: small, medium or mixed cuts, including empty chunks.
func randomCuts(_ count: Int, style: UInt8, random: inout SplitMix) -> [Int] {
    var cuts: [Int] = []
    var total = 0
    while total < count {
        let size: Int
        switch style & 0x03 {
        case 0: size = Int(random.next() % 4)
        case 1: size = Int(random.next() % 16)
        case 2: size = Int(random.next() % 200)
        default: size = random.next() % 4 == 0 ? 0 : Int(random.next() % UInt64(count + 1))
        }
        cuts.append(size)
        total += size
    }
    return cuts
}
