import NIOCore

/// Decodes RESP2 replies from a byte stream, one `RESPValue` per complete reply.
///
/// Incremental: a reply split anywhere decodes the same as in one piece (nothing is consumed until a
/// whole reply is there). Every length is checked against a limit before anything is buffered or
/// allocated for it, so a hostile or broken peer gets a typed `RedisError`, never a crash.
public struct RESPDecoder: ByteToMessageDecoder, Sendable {
    /// What the decoder produces.
    public typealias InboundOut = RESPValue

    /// The longest bulk string accepted, in bytes (Redis' own `proto-max-bulk-len` is 512 MiB).
    public let maxBulkLength: Int
    /// The most elements one array may declare.
    public let maxArrayLength: Int
    /// How deeply arrays may nest (a flat array is depth 1; XREAD replies need 4).
    public let maxNestingDepth: Int
    /// The longest simple string, error or integer line, CRLF excluded.
    public let maxLineLength: Int

    /// A decoder with the given limits; the defaults suit a broker (large history pages, small frames).
    public init(
        maxBulkLength: Int = 64 * 1024 * 1024, maxArrayLength: Int = 1024 * 1024, maxNestingDepth: Int = 16,
        maxLineLength: Int = 64 * 1024
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxArrayLength = maxArrayLength
        self.maxNestingDepth = maxNestingDepth
        self.maxLineLength = maxLineLength
    }

    /// `ByteToMessageDecoder`: emits every complete reply in `buffer`.
    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try decode(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }

    /// `ByteToMessageDecoder`: at EOF, a trailing partial reply is left for the handler to report.
    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// Reads one complete reply off the front of `buffer`, or returns nil (consuming nothing) if it is incomplete.
    public func decode(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        var index = buffer.readerIndex
        guard let value = try value(in: buffer, at: &index, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: index)
        return value
    }

    private func value(in buffer: ByteBuffer, at index: inout Int, depth: Int) throws(RedisError) -> RESPValue? {
        guard let type = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
        var cursor = index + 1
        switch type {
        case UInt8(ascii: "+"):
            guard let line = try line(in: buffer, at: &cursor) else { return nil }
            index = cursor
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            guard let line = try line(in: buffer, at: &cursor) else { return nil }
            index = cursor
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            guard let number = try integer(in: buffer, at: &cursor) else { return nil }
            index = cursor
            return .integer(number)
        case UInt8(ascii: "$"):
            guard let length = try integer(in: buffer, at: &cursor) else { return nil }
            if length == -1 {
                index = cursor
                return .bulkString(nil)
            }
            guard length >= 0 else { throw .protocolViolation("bulk string length \(length)") }
            guard length <= maxBulkLength else { throw .bulkStringTooLong(length: Int(length), limit: maxBulkLength) }
            let count = Int(length)
            guard buffer.writerIndex - cursor - 2 >= count else { return nil }
            guard buffer.getInteger(at: cursor + count, as: UInt16.self) == 0x0D0A else {
                throw .protocolViolation("bulk string of \(count) bytes not followed by CRLF")
            }
            let bytes = buffer.getSlice(at: cursor, length: count)!
            index = cursor + count + 2
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            guard let length = try integer(in: buffer, at: &cursor) else { return nil }
            if length == -1 {
                index = cursor
                return .array(nil)
            }
            guard length >= 0 else { throw .protocolViolation("array length \(length)") }
            guard length <= maxArrayLength else { throw .arrayTooLong(count: Int(length), limit: maxArrayLength) }
            guard depth < maxNestingDepth else { throw .nestingTooDeep(limit: maxNestingDepth) }
            let count = Int(length)
            // Each element takes at least 3 bytes, so this reserves no more than the bytes already received.
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, (buffer.writerIndex - cursor) / 3))
            for _ in 0..<count {
                guard let element = try value(in: buffer, at: &cursor, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            index = cursor
            return .array(elements)
        default:
            throw .protocolViolation("type byte 0x\(String(type, radix: 16)) is none of + - : $ *")
        }
    }

    /// The bytes up to the next CRLF (moving `index` past it), or nil if the CRLF has not arrived yet.
    private func line(in buffer: ByteBuffer, at index: inout Int) throws(RedisError) -> ByteBufferView? {
        let available = buffer.writerIndex - index
        let window = available > maxLineLength ? maxLineLength + 1 : available
        let view = buffer.getSlice(at: index, length: window)!.readableBytesView
        guard let cr = view.firstIndex(of: 0x0D) else {
            if available > maxLineLength { throw .lineTooLong(limit: maxLineLength) }
            return nil
        }
        let length = cr - view.startIndex
        guard length <= maxLineLength else { throw .lineTooLong(limit: maxLineLength) }
        guard length + 1 < available else { return nil }
        guard buffer.getInteger(at: index + length + 1, as: UInt8.self) == 0x0A else {
            throw .protocolViolation("CR without LF")
        }
        if view[view.startIndex..<cr].contains(0x0A) { throw .protocolViolation("LF inside a line") }
        let line = view[view.startIndex..<cr]
        index += length + 2
        return line
    }

    /// A decimal line (`-?[0-9]{1,19}`) as Int64, or nil if incomplete.
    private func integer(in buffer: ByteBuffer, at index: inout Int) throws(RedisError) -> Int64? {
        var cursor = index
        guard let digits = try line(in: buffer, at: &cursor) else { return nil }
        var value: Int64 = 0
        var negative = false
        var sawDigit = false
        for (offset, byte) in zip(0..., digits) {
            if offset == 0 && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                throw .protocolViolation("\"\(String(decoding: digits, as: UTF8.self))\" is not an integer")
            }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.subtractingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { throw .protocolViolation("integer out of 64-bit range") }
            value = sum
            sawDigit = true
        }
        guard sawDigit else { throw .protocolViolation("empty integer") }
        if !negative {
            guard value != .min else { throw .protocolViolation("integer out of 64-bit range") }
            value = -value
        }
        index = cursor
        return value
    }
}
