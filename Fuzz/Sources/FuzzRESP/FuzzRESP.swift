// Fuzzes the RESP2 reply decoder through its interface, `decode(_:)`, as `ByteToMessageHandler` calls it:
// bytes arrive in chunks of any size and are appended to what is still unread.
//
// Input: byte 0 picks the limits, byte 1 seeds how the stream is cut, the rest is the stream.
// Oracles: the replies decoded and the error thrown do not depend on how the bytes are cut (whole, at
// random points, byte by byte when short); no reply exceeds the limits (bulk length, array length, nesting);
// an incomplete reply consumes nothing; every reply re-encodes to bytes that decode to the same reply.
import FuzzSupport
import GoDispatchRedis
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    let bulk = [0, 1, 5, 64, 1 << 20][Int(input[0] & 0x07) % 5]
    let array = [0, 1, 3, 100][Int(input[0] >> 3 & 0x03)]
    let depth = [1, 2, 4, 16][Int(input[0] >> 5 & 0x03)]
    let line = [1, 8, 64 * 1024][Int(input[0] >> 7) + (input[1] & 1 == 0 ? 0 : 1)]
    let decoder = RESPDecoder(maxBulkLength: bulk, maxArrayLength: array, maxNestingDepth: depth, maxLineLength: line)
    let stream = Array(input[2...])
    var random = SplitMix(seed: UInt64(input[1]) << 32 | UInt64(input.count))

    let whole = decode(stream, cuts: [stream.count], decoder: decoder)
    var cuts: [Int] = []
    var remaining = stream.count
    while remaining > 0 {
        let cut = 1 + Int(random.next() % UInt64(min(remaining, 16)))
        cuts.append(cut)
        remaining -= cut
    }
    let split = decode(stream, cuts: cuts, decoder: decoder)
    fuzzCheck(whole == split, "cut at \(cuts), the decoder saw \(split), whole it saw \(whole)")
    if stream.count <= 128 {
        let bytewise = decode(stream, cuts: Array(repeating: 1, count: stream.count), decoder: decoder)
        fuzzCheck(whole == bytewise, "byte by byte the decoder saw \(bytewise), whole it saw \(whole)")
    }

    let unlimited = RESPDecoder(maxBulkLength: .max, maxArrayLength: .max, maxNestingDepth: 64, maxLineLength: .max)
    for value in whole.values {
        check(value, bulk: bulk, array: array, depth: depth, level: 0)
        var encoded = ByteBuffer()
        RESPEncoder.writeValue(value, into: &encoded)
        let again = try? unlimited.decode(&encoded)
        fuzzCheck(
            again == value && encoded.readableBytes == 0, "\(value) re-encoded decodes to \(String(describing: again))")
    }
    return 0
}

/// What the decoder made of a stream: the replies, then the error that stopped it (if any).
struct Outcome: Equatable, CustomStringConvertible {
    var values: [RESPValue] = []
    var error: RedisError?

    var description: String { "\(values) then \(error.map { "\($0)" } ?? "no error")" }
}

/// Feeds `stream` cut into chunks of the sizes in `cuts`, decoding all it can after each chunk.
func decode(_ stream: [UInt8], cuts: [Int], decoder: RESPDecoder) -> Outcome {
    var outcome = Outcome()
    var pending = ByteBuffer()
    var offset = 0
    for cut in cuts where offset < stream.count {
        let length = min(cut, stream.count - offset)
        pending.writeBytes(stream[offset..<(offset + length)])
        offset += length
        do {
            while true {
                let before = pending.readerIndex
                guard let value = try decoder.decode(&pending) else {
                    fuzzCheck(pending.readerIndex == before, "an incomplete reply consumed bytes")
                    break
                }
                outcome.values.append(value)
            }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

/// Fails the run if `value` breaks a limit the decoder was given.
func check(_ value: RESPValue, bulk: Int, array: Int, depth: Int, level: Int) {
    switch value {
    case .bulkString(let bytes?):
        fuzzCheck(bytes.readableBytes <= bulk, "a \(bytes.readableBytes)-byte bulk string over the limit \(bulk)")
    case .array(let elements?):
        fuzzCheck(elements.count <= array, "an array of \(elements.count) over the limit \(array)")
        fuzzCheck(level < depth, "arrays nested deeper than \(depth)")
        for element in elements { check(element, bulk: bulk, array: array, depth: depth, level: level + 1) }
    default:
        break
    }
}
