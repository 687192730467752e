import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One pipelined connection to Redis for commands, usable from any thread.
///
/// Commands are written as soon as they are sent, without waiting for earlier replies; Redis answers in
/// order and the replies complete the futures in that order. While the connection is down a command fails
/// at once with `RedisError.notConnected`; a drop fails every command in flight with
/// `RedisError.connectionLost`. The connection reconnects by itself (with `Backoff`), re-sending `AUTH`
/// and `SELECT`, and reports each change through `onStateChange`.
public final class RedisConnection: Sendable {
    /// Whether commands can be sent.
    public enum State: Sendable, Hashable {
        /// Connected, authenticated, database selected: commands go out.
        case connected
        /// Down (never connected yet, lost, or closed): commands fail with `notConnected` or `closed`.
        case disconnected
    }

    /// The event loop the connection's channel lives on; futures complete there.
    public let eventLoop: any EventLoop
    /// The server and credentials.
    public let url: RedisURL

    /// The channel while connected; read on every send (one uncontended lock), written on up and down.
    private let current: CurrentChannel
    private let keeper: ConnectionKeeper

    /// A connection to `url`; call `connect()` or `start()` to open it.
    ///
    /// - Parameters:
    ///   - group: the loop group to take one event loop from.
    ///   - onStateChange: called on `eventLoop` when the connection comes up or goes down (flip `/ready` here).
    public init(
        url: RedisURL, options: RedisConnectionOptions = RedisConnectionOptions(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        onStateChange: (@Sendable (State) -> Void)? = nil
    ) {
        self.url = url
        self.eventLoop = group.next()
        let current = CurrentChannel()
        self.current = current
        self.keeper = ConnectionKeeper(
            url: url, options: options, eventLoop: eventLoop, logger: logger,
            hooks: .init(
                makeHandler: { RedisChannelHandler() },
                handshake: { channel in RedisConnection.handshake(channel, url: url) },
                up: { channel in
                    current.mutex.withLock { if case .disconnected = $0 { $0 = .connected(channel) } }
                    onStateChange?(.connected)
                },
                down: {
                    current.mutex.withLock { if case .connected = $0 { $0 = .disconnected } }
                    onStateChange?(.disconnected)
                }))
    }

    /// Connects and waits for the first attempt: throws its error (refused, `RedisError.server("WRONGPASS …")`)
    /// but keeps retrying in the background until `close()`.
    public func connect() async throws {
        try await keeper.start().get()
    }

    /// Starts connecting in the background; watch `onStateChange` or `state` for the outcome.
    public func start() {
        _ = keeper.start()
    }

    /// Whether commands can be sent right now.
    public var state: State {
        current.mutex.withLock { if case .connected = $0 { .connected } else { .disconnected } }
    }

    /// Sends a command; the future completes on `eventLoop` with its reply, or fails with `RedisError`.
    public func send(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        let channel: any Channel
        switch current.mutex.withLock({ $0 }) {
        case .connected(let connected): channel = connected
        case .disconnected: return eventLoop.makeFailedFuture(RedisError.notConnected)
        case .closed: return eventLoop.makeFailedFuture(RedisError.closed)
        }
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        // If the handler is already gone (channel closed), the write fails and nothing else would answer.
        channel.writeAndFlush(RedisRequest(bytes: command.bytes, promise: promise)).whenFailure { _ in
            promise.fail(RedisError.connectionLost)
        }
        return promise.futureResult
    }

    /// Sends a command and waits for its reply; throws `RedisError` (`.server(message)` for an error reply).
    public func execute(_ command: RedisCommand) async throws -> RESPValue {
        try await send(command).get()
    }

    /// Closes the connection for good: commands in flight fail with `connectionLost`, later ones with `closed`.
    public func close() async {
        current.mutex.withLock { $0 = .closed }
        try? await keeper.close().get()
    }

    /// `AUTH` then `SELECT`, pipelined, on a fresh channel before anyone else may use it.
    static func handshake(_ channel: any Channel, url: RedisURL) -> EventLoopFuture<Void> {
        var commands: [RedisCommand] = []
        if let password = url.password {
            commands.append(RedisCommand(url.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]))
        }
        if url.database != 0 { commands.append(RedisCommand(["SELECT", String(url.database)])) }
        let replies = commands.map { command in
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            channel.write(RedisRequest(bytes: command.bytes, promise: promise), promise: nil)
            return promise.futureResult.flatMapThrowing { reply in
                guard reply == .simpleString("OK") else {
                    throw RedisError.unexpectedReply(command: command.name, reply: reply.description)
                }
            }
        }
        channel.flush()
        return EventLoopFuture.andAllSucceed(replies, on: channel.eventLoop)
    }
}

/// The connection's channel behind a lock shared with the keeper's hooks.
private final class CurrentChannel: Sendable {
    enum Value {
        case disconnected
        case connected(any Channel)
        case closed
    }

    let mutex = Mutex<Value>(.disconnected)
}
