import NIOCore
import NIOEmbedded
import Testing

@testable import GoDispatchRedis

/// The reply matcher without a socket: FIFO matching, error replies, and failing fast when the channel goes.
@Suite struct RedisChannelHandlerTests {
    func makeChannel(onPush: ((RESPValue) -> Void)? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
        try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(onPush: onPush))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    func send(_ command: RedisCommand, on channel: EmbeddedChannel) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.writeAndFlush(RedisRequest(bytes: command.bytes, promise: promise), promise: nil)
        return promise.futureResult
    }

    @Test func repliesCompleteCommandsInOrder() throws {
        let channel = try makeChannel()
        let first = send(["GET", "a"], on: channel)
        let second = send(["INCR", "n"], on: channel)
        let third = send(["GET", "b"], on: channel)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == RedisCommand(["GET", "a"]).bytes)
        try channel.writeInbound(ByteBuffer(string: "$1\r\nx\r\n:1\r\n-WRONGTYPE Operation against a key\r\n"))
        #expect(try first.wait() == .bulkString(ByteBuffer(string: "x")))
        #expect(try second.wait() == .integer(1))
        #expect(throws: RedisError.server("WRONGTYPE Operation against a key")) { try third.wait() }
        _ = try channel.finish()
    }

    @Test func aDropFailsEveryPendingCommandAndEveryLaterOne() throws {
        let channel = try makeChannel()
        let pending = (0..<3).map { _ in send(["PING"], on: channel) }
        try channel.close().wait()
        for future in pending { #expect(throws: RedisError.connectionLost) { try future.wait() } }
        #expect(throws: RedisError.connectionLost) { try send(["PING"], on: channel).wait() }
    }

    @Test func anUnaskedReplyIsAProtocolViolationThatClosesTheChannel() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!channel.isActive)
    }

    @Test func pushMessagesBypassTheQueueOnASubscriberConnection() throws {
        let pushes = Box()
        let channel = try makeChannel(onPush: { pushes.values.append($0) })
        let auth = send(["AUTH", "pw"], on: channel)
        try channel.writeInbound(
            ByteBuffer(string: "*3\r\n$7\r\nmessage\r\n$1\r\nr\r\n$2\r\nhi\r\n+OK\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nr\r\n:1\r\n"))
        #expect(try auth.wait() == .simpleString("OK"))
        #expect(pushes.values.map { $0.array?.first?.string } == ["message", "subscribe"])
        _ = try channel.finish()
    }

    final class Box {
        var values: [RESPValue] = []
    }
}
