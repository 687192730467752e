import NIOCore
import NIOEmbedded
import Testing

@testable import GoDispatchRedis

@Suite struct RESPCodecTests {
    /// One of every kind, nested, with binary and empty payloads.
    static let values: [RESPValue] = [
        .simpleString("OK"),
        .simpleString(""),
        .error("ERR unknown command 'FOO'"),
        .integer(0),
        .integer(-1),
        .integer(.max),
        .integer(.min),
        .bulkString(ByteBuffer(string: "hello")),
        .bulkString(ByteBuffer(bytes: [0, 13, 10, 255, 36, 42])),
        .bulkString(ByteBuffer()),
        .bulkString(nil),
        .array([]),
        .array(nil),
        .array([.integer(1), .bulkString(ByteBuffer(string: "x")), .array([.bulkString(nil), .array([])])]),
        .array([
            .bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "room")),
            .bulkString(ByteBuffer(string: String(repeating: "p", count: 300))),
        ]),
    ]

    static func encoded(_ values: [RESPValue]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for value in values { RESPEncoder.writeValue(value, into: &buffer) }
        return buffer
    }

    /// Feeds `bytes` in chunks cut at `cuts`, decoding after each chunk like a channel would.
    static func decode(_ bytes: ByteBuffer, cuts: [Int], decoder: RESPDecoder = RESPDecoder()) throws -> [RESPValue] {
        var input = bytes
        var pending = ByteBuffer()
        var values: [RESPValue] = []
        var previous = 0
        for cut in cuts + [bytes.readableBytes] {
            var chunk = input.readSlice(length: cut - previous)!
            previous = cut
            pending.writeBuffer(&chunk)
            while let value = try decoder.decode(&pending) { values.append(value) }
        }
        return values
    }

    @Test func everyValueRoundTrips() throws {
        for value in Self.values {
            var buffer = Self.encoded([value])
            #expect(try RESPDecoder().decode(&buffer) == value)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func incompleteInputConsumesNothing() throws {
        let whole = Self.encoded([Self.values.last!])
        for length in 0..<whole.readableBytes {
            var prefix = whole.getSlice(at: 0, length: length)!
            #expect(try RESPDecoder().decode(&prefix) == nil)
            #expect(prefix.readableBytes == length)
        }
    }

    @Test func everySplitPointOfAMultiReplyBufferDecodesTheSame() throws {
        let bytes = Self.encoded(Self.values)
        #expect(try Self.decode(bytes, cuts: []) == Self.values)
        for cut in 0...bytes.readableBytes {
            #expect(try Self.decode(bytes, cuts: [cut]) == Self.values, "split at \(cut)")
        }
        #expect(try Self.decode(bytes, cuts: Array(1..<bytes.readableBytes)) == Self.values, "byte by byte")
    }

    @Test func decoderInAChannelPipelineDeliversEveryReply() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        var bytes = Self.encoded(Self.values)
        while bytes.readableBytes > 0 {
            try channel.writeInbound(bytes.readSlice(length: min(7, bytes.readableBytes))!)
        }
        var received: [RESPValue] = []
        while let value = try channel.readInbound(as: RESPValue.self) { received.append(value) }
        #expect(received == Self.values)
        #expect(try channel.finish().isClean)
    }

    @Test func commandsAreArraysOfBulkStrings() throws {
        let text = RedisCommand(["SET", "ключ", "v"])
        #expect(String(buffer: text.bytes) == "*3\r\n$3\r\nSET\r\n$8\r\nключ\r\n$1\r\nv\r\n")
        #expect(text.name == "SET")
        let payload = ByteBuffer(string: "0123456789abcdef")
        let mixed: RedisCommand = ["PUBLISH", .string("room"), .buffer(payload), .bytes([0, 1]), 42, .integer(-7)]
        #expect(
            String(buffer: mixed.bytes)
                == "*6\r\n$7\r\nPUBLISH\r\n$4\r\nroom\r\n$16\r\n0123456789abcdef\r\n"
                + "$2\r\n\u{0}\u{1}\r\n$2\r\n42\r\n$2\r\n-7\r\n")
        var bytes = mixed.bytes
        let decoded = try RESPDecoder().decode(&bytes)
        #expect(decoded?.array?.count == 6)
        #expect(decoded?.array?[2] == .bulkString(payload))
    }

    @Test(arguments: [
        ("!3\r\nabc\r\n", RedisError.protocolViolation("type byte 0x21 is none of + - : $ *")),
        (":12a\r\n", .protocolViolation("\"12a\" is not an integer")),
        (":\r\n", .protocolViolation("empty integer")),
        (":-\r\n", .protocolViolation("empty integer")),
        (":99999999999999999999\r\n", .protocolViolation("integer out of 64-bit range")),
        (":9223372036854775808\r\n", .protocolViolation("integer out of 64-bit range")),
        ("$-2\r\n", .protocolViolation("bulk string length -2")),
        ("*-5\r\n", .protocolViolation("array length -5")),
        ("$3\r\nabcde\r\n", .protocolViolation("bulk string of 3 bytes not followed by CRLF")),
        ("+OK\rX\r\n", .protocolViolation("CR without LF")),
        ("+O\nK\r\n", .protocolViolation("LF inside a line")),
    ])
    func malformedInputIsATypedError(input: String, expected: RedisError) {
        var buffer = ByteBuffer(string: input)
        #expect(throws: expected) { try RESPDecoder().decode(&buffer) }
    }

    @Test func limitsAreCheckedBeforeBuffering() {
        let decoder = RESPDecoder(maxBulkLength: 10, maxArrayLength: 3, maxNestingDepth: 2, maxLineLength: 8)
        var bulk = ByteBuffer(string: "$11\r\n")  // only the header: the 11 bytes need not arrive
        #expect(throws: RedisError.bulkStringTooLong(length: 11, limit: 10)) { try decoder.decode(&bulk) }
        var huge = ByteBuffer(string: "$9223372036854775807\r\n")
        #expect(throws: RedisError.bulkStringTooLong(length: .max, limit: 10)) {
            try RESPDecoder(maxBulkLength: 10).decode(&huge)
        }
        var array = ByteBuffer(string: "*4\r\n")
        #expect(throws: RedisError.arrayTooLong(count: 4, limit: 3)) { try decoder.decode(&array) }
        var deep = ByteBuffer(string: "*1\r\n*1\r\n*1\r\n:1\r\n")
        #expect(throws: RedisError.nestingTooDeep(limit: 2)) { try decoder.decode(&deep) }
        var line = ByteBuffer(string: "+123456789")  // no CRLF yet, already over the limit
        #expect(throws: RedisError.lineTooLong(limit: 8)) { try decoder.decode(&line) }
        var fits = ByteBuffer(string: "*1\r\n*3\r\n$10\r\n0123456789\r\n+1234567\r\n:12345678\r\n")
        #expect(throws: Never.self) { _ = try decoder.decode(&fits) }
    }

    @Test func aProtocolErrorInThePipelineIsReportedAsRedisError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        #expect(throws: RedisError.protocolViolation("type byte 0x3f is none of + - : $ *")) {
            try channel.writeInbound(ByteBuffer(string: "?\r\n"))
        }
        _ = try? channel.finish()
    }
}
