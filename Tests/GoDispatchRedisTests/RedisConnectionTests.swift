import NIOCore
import NIOPosix
import Testing

@testable import GoDispatchRedis

/// End to end against real `redis-server` processes; serialized so the busy machine runs one server at a time.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RedisConnectionTests {
    @Test func setGetAndNulls() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let connection = RedisConnection(url: server.url(), logger: quietLogger)
        try await connection.connect()
        #expect(connection.state == .connected)
        #expect(try await connection.execute(["SET", "k", .bytes([0, 1, 2])]) == .simpleString("OK"))
        #expect(try await connection.execute(["GET", "k"]) == .bulkString(ByteBuffer(bytes: [0, 1, 2])))
        #expect(try await connection.execute(["GET", "missing"]) == .bulkString(nil))
        #expect(try await connection.execute(["INCRBY", "n", 5]).int == 5)
        await #expect(throws: RedisError.server("ERR value is not an integer or out of range")) {
            try await connection.execute(["INCRBY", "n", "x"])
        }
        await connection.close()
        await #expect(throws: RedisError.closed) { try await connection.execute(["PING"]) }
    }

    @Test func tenThousandPipelinedCommandsAreAnsweredInOrder() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let connection = RedisConnection(url: server.url(), logger: quietLogger)
        try await connection.connect()
        // All sent before any reply is awaited: one connection, replies matched first in, first out.
        let futures = (0..<10_000).map { i in connection.send(RedisCommand(["ECHO", "reply-\(i)"])) }
        let replies = try await EventLoopFuture.whenAllSucceed(futures, on: connection.eventLoop).get()
        #expect(replies.count == 10_000)
        let outOfOrder = replies.enumerated().first { $0.element.string != "reply-\($0.offset)" }
        #expect(outOfOrder == nil)
        await connection.close()
    }

    @Test func authenticatesAndRejectsAWrongPassword() async throws {
        let server = try await RedisServerProcess.start(["--requirepass", "s3cret"])
        defer { server.stop() }
        let good = RedisConnection(url: server.url(password: "s3cret"), logger: quietLogger)
        try await good.connect()
        #expect(try await good.execute(["PING"]) == .simpleString("PONG"))
        await good.close()

        let wrong = RedisConnection(url: server.url(password: "nope"), logger: quietLogger)
        await #expect {
            try await wrong.connect()
        } throws: { error in
            guard case RedisError.server(let message) = error else { return false }
            return message.hasPrefix("WRONGPASS")
        }
        #expect(wrong.state == .disconnected)
        await #expect(throws: RedisError.notConnected) { try await wrong.execute(["PING"]) }
        await wrong.close()

        let none = RedisConnection(url: server.url(), logger: quietLogger)
        try await none.connect()  // no AUTH sent: the connection is up but every command is refused
        await #expect {
            try await none.execute(["GET", "k"])
        } throws: { error in
            guard case RedisError.server(let message) = error else { return false }
            return message.hasPrefix("NOAUTH")
        }
        await none.close()
    }

    @Test func selectsTheDatabase() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let db3 = RedisConnection(url: server.url(database: 3), logger: quietLogger)
        let db0 = RedisConnection(url: server.url(), logger: quietLogger)
        try await db3.connect()
        try await db0.connect()
        _ = try await db3.execute(["SET", "where", "three"])
        #expect(try await db3.execute(["GET", "where"]).string == "three")
        #expect(try await db0.execute(["GET", "where"]) == .bulkString(nil))
        #expect(try await db0.execute(["SELECT", "3"]) == .simpleString("OK"))
        #expect(try await db0.execute(["GET", "where"]).string == "three")
        await db3.close()
        await db0.close()

        let outOfRange = RedisConnection(url: server.url(database: 99), logger: quietLogger)
        await #expect(throws: RedisError.server("ERR DB index is out of range")) { try await outOfRange.connect() }
        await outOfRange.close()
    }

    @Test func failsFastWhileRedisIsDownAndReconnectsWhenItIsBack() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let states = EventLog<RedisConnection.State>()
        let connection = RedisConnection(
            url: server.url(),
            options: RedisConnectionOptions(backoff: Backoff(initial: .milliseconds(20), cap: .milliseconds(200))),
            logger: quietLogger, onStateChange: { states.record($0) })
        try await connection.connect()
        try #require(await states.next(.connected))
        _ = try await connection.execute(["SET", "before", "1"])

        // A command in flight when Redis goes away fails with connectionLost, it does not hang.
        let blocked = connection.send(["BLPOP", "never", "0"])
        server.stop()
        await #expect(throws: RedisError.connectionLost) { try await blocked.get() }
        try #require(await states.next(.disconnected))

        // While down: every command fails at once.
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<20 {
            await #expect(throws: RedisError.notConnected) { try await connection.execute(["PING"]) }
        }
        #expect(clock.now - started < .seconds(5))

        try await server.restart()
        try #require(await states.next(.connected), "reconnects by itself once Redis is back on the same port")
        #expect(try await connection.execute(["PING"]) == .simpleString("PONG"))
        #expect(try await connection.execute(["GET", "before"]) == .bulkString(nil), "no persistence: a new server")
        await connection.close()
        try #require(await states.next(.disconnected))
    }

    @Test func usableFromManyTasksAtOnce() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let connection = RedisConnection(url: server.url(), logger: quietLogger)
        try await connection.connect()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<200 {
                        let reply = try await connection.execute(RedisCommand(["ECHO", "\(task)-\(i)"]))
                        #expect(reply.string == "\(task)-\(i)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await connection.execute(["DBSIZE"]).int == 0)
        await connection.close()
    }
}
