import NIOCore
import Testing

@testable import GoDispatchRedis

/// A message as the subscriber delivered it.
struct Delivery: Sendable, Equatable {
    var channel: String
    var payload: String
}

@Suite(.serialized, .timeLimit(.minutes(3))) struct RedisSubscriberTests {
    static let fastBackoff = RedisConnectionOptions(
        backoff: Backoff(initial: .milliseconds(20), cap: .milliseconds(200)))

    @Test func deliversMessagesOfChannelsAndPatterns() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let messages = EventLog<Delivery>()
        let subscriber = RedisSubscriber(
            url: server.url(), logger: quietLogger,
            onMessage: { channel, payload in
                messages.record(Delivery(channel: channel, payload: String(buffer: payload)))
            })
        try await subscriber.connect()
        try await subscriber.subscribe(channel: "room.a")
        try await subscriber.subscribe(.pattern("chat.*")).get()
        let publisher = RedisConnection(url: server.url(), logger: quietLogger)
        try await publisher.connect()

        #expect(try await publisher.execute(["PUBLISH", "room.a", .bytes(Array("hello".utf8))]).int == 1)
        #expect(await messages.next(Delivery(channel: "room.a", payload: "hello")))
        #expect(try await publisher.execute(["PUBLISH", "chat.42", "hi"]).int == 1)
        #expect(await messages.next(Delivery(channel: "chat.42", payload: "hi")))

        try await subscriber.unsubscribe(channel: "room.a")
        #expect(try await publisher.execute(["PUBLISH", "room.a", "unheard"]).int == 0)
        #expect(try await subscriber.subscriptions == [.pattern("chat.*")])
        await subscriber.close()
        await publisher.close()
    }

    @Test func resubscribesEverythingAfterClientKill() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let messages = EventLog<Delivery>()
        let states = EventLog<RedisSubscriber.State>()
        let subscriber = RedisSubscriber(
            url: server.url(), options: Self.fastBackoff, logger: quietLogger,
            onMessage: { channel, payload in
                messages.record(Delivery(channel: channel, payload: String(buffer: payload)))
            },
            onStateChange: { states.record($0) })
        try await subscriber.connect()
        try #require(await states.next(.up))
        let rooms = (0..<50).map { "room.\($0)" }
        for room in rooms { try await subscriber.subscribe(channel: room) }
        let publisher = RedisConnection(url: server.url(), logger: quietLogger)
        try await publisher.connect()

        #expect(try await publisher.execute(["CLIENT", "KILL", "TYPE", "pubsub"]).int == 1)
        try #require(await states.next(.down))
        try #require(await states.next(.up), "back up after re-subscribing")
        // Up means every channel is confirmed again: each one hears a message published now.
        for room in rooms {
            #expect(try await publisher.execute(RedisCommand(["PUBLISH", room, "after-\(room)"])).int == 1)
        }
        for room in rooms {
            // One missing message is enough to fail; do not wait out the timeout 50 times.
            try #require(await messages.next(Delivery(channel: room, payload: "after-\(room)")))
        }
        await subscriber.close()
        await publisher.close()
    }

    @Test func subscribesMadeWhileDownAreSentOnReconnect() async throws {
        let server = try await RedisServerProcess.start(["--requirepass", "pw"])
        defer { server.stop() }
        let messages = EventLog<Delivery>()
        let states = EventLog<RedisSubscriber.State>()
        let subscriber = RedisSubscriber(
            url: server.url(password: "pw"), options: Self.fastBackoff, logger: quietLogger,
            onMessage: { channel, payload in
                messages.record(Delivery(channel: channel, payload: String(buffer: payload)))
            },
            onStateChange: { states.record($0) })
        try await subscriber.connect()
        try await subscriber.subscribe(channel: "early")

        server.stop()
        try #require(await states.next(.down))
        let late = subscriber.subscribe(.channel("late"))  // remembered, confirmed after the reconnect
        try await server.restart()
        try #require(await states.next(.up))
        try await late.get()

        let publisher = RedisConnection(url: server.url(password: "pw"), logger: quietLogger)
        try await publisher.connect()
        #expect(try await publisher.execute(["PUBLISH", "early", "1"]).int == 1)
        #expect(try await publisher.execute(["PUBLISH", "late", "2"]).int == 1)
        #expect(await messages.next(Delivery(channel: "early", payload: "1")))
        #expect(await messages.next(Delivery(channel: "late", payload: "2")))
        await subscriber.close()
        await publisher.close()
    }
}
