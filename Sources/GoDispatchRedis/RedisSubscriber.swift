import Logging
import NIOCore
import NIOPosix

/// A dedicated pub/sub connection that keeps its subscriptions across reconnects.
///
/// It remembers the wanted set of channels and patterns. After every (re)connect, including a server-side
/// `CLIENT KILL TYPE pubsub` or a Redis restart, it re-subscribes to all of them and reports `.up` only once
/// Redis has confirmed every one: messages published after `.up` are received. Messages published while it
/// was down are lost (that is pub/sub); `.up` after a `.down` is the cue to let clients recover from history.
public final class RedisSubscriber: Sendable {
    /// Whether the wanted subscriptions are in place.
    public enum State: Sendable, Hashable {
        /// Connected and every wanted channel and pattern confirmed by Redis.
        case up
        /// Connection lost (or closed): messages are being missed until the next `.up`.
        case down
    }

    /// A channel name or a glob-style pattern (`PSUBSCRIBE`).
    public enum Subscription: Sendable, Hashable {
        /// An exact channel (`SUBSCRIBE`).
        case channel(String)
        /// A pattern such as `room.*` (`PSUBSCRIBE`).
        case pattern(String)
    }

    /// The event loop the connection lives on; messages and state changes arrive there.
    public let eventLoop: any EventLoop
    private let keeper: ConnectionKeeper
    private let state: NIOLoopBoundBox<SubscriberState>

    /// A subscriber to `url` (its database number does not matter: pub/sub spans databases).
    ///
    /// - Parameters:
    ///   - onMessage: called on `eventLoop` with the channel name and the payload of every message.
    ///   - onStateChange: called on `eventLoop` on every `.up` and `.down`.
    public init(
        url: RedisURL, options: RedisConnectionOptions = RedisConnectionOptions(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        onMessage: @escaping @Sendable (_ channel: String, _ payload: ByteBuffer) -> Void,
        onStateChange: (@Sendable (State) -> Void)? = nil
    ) {
        let eventLoop = group.next()
        let state = NIOLoopBoundBox.makeBoxSendingValue(SubscriberState(), eventLoop: eventLoop)
        self.eventLoop = eventLoop
        self.state = state
        let authURL = RedisURL(host: url.host, port: url.port, user: url.user, password: url.password)
        self.keeper = ConnectionKeeper(
            url: url, options: options, eventLoop: eventLoop, logger: logger,
            hooks: .init(
                makeHandler: {
                    RedisChannelHandler(onPush: { push in
                        state.value.received(push, onMessage: onMessage)
                    })
                },
                handshake: { channel in
                    channel.closeFuture.whenComplete { _ in state.value.lost(channel) }
                    return RedisConnection.handshake(channel, url: authURL).flatMap {
                        state.value.resubscribe(on: channel)
                    }
                },
                up: { _ in onStateChange?(.up) },
                down: { onStateChange?(.down) }))
    }

    /// Connects and waits until it is up for the first time (or that first attempt fails; it keeps retrying).
    public func connect() async throws {
        try await keeper.start().get()
    }

    /// Starts connecting in the background; `onStateChange(.up)` tells when it is up.
    public func start() {
        _ = keeper.start()
    }

    /// Adds `subscription` to the wanted set; the future succeeds when Redis confirms it (at once if connected,
    /// else after the next reconnect — it never fails except with `RedisError.closed`).
    public func subscribe(_ subscription: Subscription) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { self.state.value.subscribe(subscription, eventLoop: self.eventLoop) }
    }

    /// Removes `subscription` from the wanted set; succeeds when Redis confirms (at once when down).
    public func unsubscribe(_ subscription: Subscription) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { self.state.value.unsubscribe(subscription, eventLoop: self.eventLoop) }
    }

    /// `subscribe(.channel(channel))`, awaited.
    public func subscribe(channel: String) async throws {
        try await subscribe(.channel(channel)).get()
    }

    /// `unsubscribe(.channel(channel))`, awaited.
    public func unsubscribe(channel: String) async throws {
        try await unsubscribe(.channel(channel)).get()
    }

    /// The wanted subscriptions (confirmed or not).
    public var subscriptions: Set<Subscription> {
        get async throws { try await eventLoop.submit { self.state.value.wanted }.get() }
    }

    /// Closes the connection for good; waiting subscribes fail with `RedisError.closed`.
    public func close() async {
        try? await keeper.close().get()
        try? await eventLoop.submit { self.state.value.close() }.get()
    }
}

/// The subscriber's state, used only on its event loop (a class, so completing a promise inside a method
/// never overlaps an access to the box that holds it).
private final class SubscriberState {
    /// What should be subscribed, whatever the connection's state.
    var wanted: Set<RedisSubscriber.Subscription> = []
    /// The channel once authenticated (up or re-subscribing); nil while down.
    var channel: (any Channel)?
    /// Callers of `subscribe` / `unsubscribe` waiting for Redis' confirmation.
    var subscribeWaiters: [RedisSubscriber.Subscription: [EventLoopPromise<Void>]] = [:]
    var unsubscribeWaiters: [RedisSubscriber.Subscription: [EventLoopPromise<Void>]] = [:]
    /// During a re-subscribe: what Redis has not confirmed yet, and the promise that makes the connection up.
    var unconfirmed: Set<RedisSubscriber.Subscription> = []
    var upPromise: EventLoopPromise<Void>?
    var isClosed = false

    /// Re-subscribes to everything wanted on a fresh channel; the future succeeds once all are confirmed.
    func resubscribe(on channel: any Channel) -> EventLoopFuture<Void> {
        self.channel = channel
        unconfirmed = wanted
        guard !wanted.isEmpty else { return channel.eventLoop.makeSucceededVoidFuture() }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        upPromise = promise
        var channels: [String] = []
        var patterns: [String] = []
        for subscription in wanted {
            switch subscription {
            case .channel(let name): channels.append(name)
            case .pattern(let pattern): patterns.append(pattern)
            }
        }
        // In batches, so a node with many rooms does not build one huge command.
        for batch in stride(from: 0, to: channels.count, by: 1000) {
            Self.write(["SUBSCRIBE"] + channels[batch..<min(batch + 1000, channels.count)], to: channel)
        }
        for batch in stride(from: 0, to: patterns.count, by: 1000) {
            Self.write(["PSUBSCRIBE"] + patterns[batch..<min(batch + 1000, patterns.count)], to: channel)
        }
        channel.flush()
        return promise.futureResult
    }

    func subscribe(_ subscription: RedisSubscriber.Subscription, eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard !isClosed else { return eventLoop.makeFailedFuture(RedisError.closed) }
        wanted.insert(subscription)
        let promise = eventLoop.makePromise(of: Void.self)
        subscribeWaiters[subscription, default: []].append(promise)
        if let channel {
            Self.write(Self.command(subscribe: true, subscription), to: channel)
            channel.flush()
        }
        return promise.futureResult
    }

    func unsubscribe(_ subscription: RedisSubscriber.Subscription, eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard !isClosed else { return eventLoop.makeFailedFuture(RedisError.closed) }
        wanted.remove(subscription)
        unconfirmed.remove(subscription)
        checkUp()
        // A subscribe still waiting is answered by this unsubscribe: it will not be confirmed.
        subscribeWaiters.removeValue(forKey: subscription)?.forEach { $0.succeed() }
        guard let channel else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        unsubscribeWaiters[subscription, default: []].append(promise)
        Self.write(Self.command(subscribe: false, subscription), to: channel)
        channel.flush()
        return promise.futureResult
    }

    /// A push message from the current channel.
    func received(_ push: RESPValue, onMessage: @Sendable (String, ByteBuffer) -> Void) {
        guard let elements = push.array, let kind = elements.first?.string else { return }
        switch (kind, elements.count) {
        case ("message", 3):
            if let name = elements[1].string, case .bulkString(let payload?) = elements[2] { onMessage(name, payload) }
        case ("pmessage", 4):
            if let name = elements[2].string, case .bulkString(let payload?) = elements[3] { onMessage(name, payload) }
        case ("subscribe", 3), ("psubscribe", 3):
            guard let name = elements[1].string else { return }
            let subscription: RedisSubscriber.Subscription = kind == "subscribe" ? .channel(name) : .pattern(name)
            subscribeWaiters.removeValue(forKey: subscription)?.forEach { $0.succeed() }
            unconfirmed.remove(subscription)
            checkUp()
        case ("unsubscribe", 3), ("punsubscribe", 3):
            guard let name = elements[1].string else { return }
            let subscription: RedisSubscriber.Subscription = kind == "unsubscribe" ? .channel(name) : .pattern(name)
            unsubscribeWaiters.removeValue(forKey: subscription)?.forEach { $0.succeed() }
        default:
            break
        }
    }

    /// `channel` closed: if it was the current one, unsubscribes are moot and subscribes wait for the next.
    func lost(_ channel: any Channel) {
        guard let current = self.channel, current === channel else { return }
        forget()
    }

    private func forget() {
        channel = nil
        unconfirmed = []
        upPromise = nil
        let waiters = unsubscribeWaiters
        unsubscribeWaiters = [:]
        waiters.values.joined().forEach { $0.succeed() }
    }

    func close() {
        isClosed = true
        forget()
        let waiters = subscribeWaiters
        subscribeWaiters = [:]
        waiters.values.joined().forEach { $0.fail(RedisError.closed) }
    }

    private func checkUp() {
        guard unconfirmed.isEmpty, let promise = upPromise else { return }
        upPromise = nil
        promise.succeed()
    }

    private static func command(subscribe: Bool, _ subscription: RedisSubscriber.Subscription) -> [String] {
        switch subscription {
        case .channel(let name): [subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", name]
        case .pattern(let pattern): [subscribe ? "PSUBSCRIBE" : "PUNSUBSCRIBE", pattern]
        }
    }

    private static func write(_ arguments: some Collection<String>, to channel: any Channel) {
        let command = RedisCommand(Array(arguments), allocator: channel.allocator)
        channel.write(RedisRequest(bytes: command.bytes, promise: nil), promise: nil)
    }
}
