import NIOCore

/// One argument of a Redis command, written as a RESP bulk string without an intermediate copy.
public enum RESPArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// UTF-8 text (key names, command names, numbers as text).
    case string(String)
    /// Bytes already in a buffer (a frame payload): its readable bytes are written.
    case buffer(ByteBuffer)
    /// Raw bytes.
    case bytes([UInt8])
    /// A decimal integer (counts, TTLs, MAXLEN).
    case integer(Int)

    /// A literal is a `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A literal is an `.integer`.
    public init(integerLiteral value: Int) { self = .integer(value) }
}

/// A command encoded as RESP (an array of bulk strings), ready to write to a connection.
///
/// Encoding happens once, on the caller's thread, straight into the buffer that goes to the socket.
public struct RedisCommand: Sendable, ExpressibleByArrayLiteral {
    /// The encoded command.
    public let bytes: ByteBuffer
    /// The command's name (its first argument), for errors and logs.
    public let name: String

    /// Encodes text arguments, e.g. `RedisCommand(["GET", key])`.
    public init(_ arguments: [String], allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        var buffer = allocator.buffer(capacity: RESPEncoder.capacity(arguments))
        RESPEncoder.writeCommand(arguments, into: &buffer)
        bytes = buffer
        name = arguments.first ?? ""
    }

    /// Encodes mixed arguments, e.g. `RedisCommand(["PUBLISH", .string(room), .buffer(frame)])`.
    public init(_ arguments: [RESPArgument], allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        var buffer = allocator.buffer(capacity: RESPEncoder.capacity(arguments))
        RESPEncoder.writeCommand(arguments, into: &buffer)
        bytes = buffer
        if case .string(let first)? = arguments.first { name = first } else { name = "" }
    }

    /// `["SET", "k", .buffer(payload)]`.
    public init(arrayLiteral elements: RESPArgument...) { self.init(elements) }
}

/// Writes RESP2: commands (arrays of bulk strings) for requests, and any value (for tests and tools).
public enum RESPEncoder {
    /// Appends `*N\r\n` then each argument as `$len\r\n…\r\n`.
    public static func writeCommand(_ arguments: [String], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            writeHeader(UInt8(ascii: "$"), argument.utf8.count, into: &buffer)
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Appends `*N\r\n` then each argument as a bulk string.
    public static func writeCommand(_ arguments: [RESPArgument], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            switch argument {
            case .string(let text):
                writeHeader(UInt8(ascii: "$"), text.utf8.count, into: &buffer)
                buffer.writeString(text)
            case .buffer(let bytes):
                writeHeader(UInt8(ascii: "$"), bytes.readableBytes, into: &buffer)
                buffer.writeImmutableBuffer(bytes)
            case .bytes(let bytes):
                writeHeader(UInt8(ascii: "$"), bytes.count, into: &buffer)
                buffer.writeBytes(bytes)
            case .integer(let value):
                let text = String(value)
                writeHeader(UInt8(ascii: "$"), text.utf8.count, into: &buffer)
                buffer.writeString(text)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// Appends any value in its RESP2 form (the inverse of `RESPDecoder`).
    public static func writeValue(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text):
            buffer.writeStaticString("+")
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .error(let message):
            buffer.writeStaticString("-")
            buffer.writeString(message)
            buffer.writeStaticString("\r\n")
        case .integer(let number):
            buffer.writeStaticString(":")
            buffer.writeString(String(number))
            buffer.writeStaticString("\r\n")
        case .bulkString(nil):
            buffer.writeStaticString("$-1\r\n")
        case .bulkString(let bytes?):
            writeHeader(UInt8(ascii: "$"), bytes.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(bytes)
            buffer.writeStaticString("\r\n")
        case .array(nil):
            buffer.writeStaticString("*-1\r\n")
        case .array(let elements?):
            writeHeader(UInt8(ascii: "*"), elements.count, into: &buffer)
            for element in elements { writeValue(element, into: &buffer) }
        }
    }

    /// `<type><decimal>\r\n`; a decimal of up to 15 digits is a small (inline, unallocated) String.
    private static func writeHeader(_ type: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        if count < 10 {
            buffer.writeInteger(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: count))
        } else {
            buffer.writeString(String(count))
        }
        buffer.writeStaticString("\r\n")
    }

    /// An upper estimate of the encoded size, so the buffer is allocated once.
    static func capacity(_ arguments: [String]) -> Int {
        arguments.reduce(16) { $0 + $1.utf8.count + 16 }
    }

    static func capacity(_ arguments: [RESPArgument]) -> Int {
        arguments.reduce(16) { total, argument in
            switch argument {
            case .string(let text): total + text.utf8.count + 16
            case .buffer(let bytes): total + bytes.readableBytes + 16
            case .bytes(let bytes): total + bytes.count + 16
            case .integer: total + 36
            }
        }
    }
}
