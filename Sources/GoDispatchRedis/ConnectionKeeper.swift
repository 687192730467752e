import Logging
import NIOCore
import NIOPosix

/// Keeps one TCP connection to Redis open: connects, runs the handshake (AUTH, SELECT, re-SUBSCRIBE…),
/// reports it up, and when it drops reports it down and reconnects with `Backoff`, until closed.
///
/// All of its state lives on `eventLoop`; the hooks are called there, in order: `up` only after a
/// handshake succeeded, `down` only after an `up`.
final class ConnectionKeeper: Sendable {
    /// What the owner (`RedisConnection`, `RedisSubscriber`) plugs in.
    struct Hooks: Sendable {
        /// Makes the reply handler for a new channel (called on the event loop).
        var makeHandler: @Sendable () -> RedisChannelHandler
        /// Runs after connect; the connection is up when its future succeeds.
        var handshake: @Sendable (any Channel) -> EventLoopFuture<Void>
        /// The connection is up on this channel.
        var up: @Sendable (any Channel) -> Void
        /// The connection that was up is gone.
        var down: @Sendable () -> Void
    }

    private enum Phase {
        case idle, connecting
        case up(any Channel)
        case waiting(Scheduled<Void>)
        case closed
    }

    private struct State {
        var phase = Phase.idle
        var attempt = 0
        var random = SystemRandomNumberGenerator()
        /// `connect()` callers waiting for the outcome of the next attempt.
        var waiters: [EventLoopPromise<Void>] = []
    }

    let eventLoop: any EventLoop
    private let url: RedisURL
    private let options: RedisConnectionOptions
    private let logger: Logger
    private let hooks: Hooks
    private let state: NIOLoopBoundBox<State>

    init(url: RedisURL, options: RedisConnectionOptions, eventLoop: any EventLoop, logger: Logger, hooks: Hooks) {
        self.url = url
        self.options = options
        self.eventLoop = eventLoop
        self.logger = logger
        self.hooks = hooks
        self.state = .makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    /// Starts connecting (if not yet started); the future completes with the outcome of the first attempt
    /// made from now, or at once if the connection is up. Later attempts go on in the background either way.
    func start() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            switch self.state.value.phase {
            case .up: return self.eventLoop.makeSucceededVoidFuture()
            case .closed: return self.eventLoop.makeFailedFuture(RedisError.closed)
            case .idle:
                let promise = self.eventLoop.makePromise(of: Void.self)
                self.state.value.waiters.append(promise)
                self.connectNow()
                return promise.futureResult
            case .connecting, .waiting:
                let promise = self.eventLoop.makePromise(of: Void.self)
                self.state.value.waiters.append(promise)
                return promise.futureResult
            }
        }
    }

    /// Stops reconnecting and closes the channel; the `down` hook runs if it was up.
    func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let phase = self.state.value.phase
            self.state.value.phase = .closed
            let waiters = self.state.value.waiters
            self.state.value.waiters = []
            waiters.forEach { $0.fail(RedisError.closed) }
            switch phase {
            case .up(let channel):
                self.hooks.down()
                return channel.close().recover { _ in }
            case .waiting(let retry):
                retry.cancel()
                return self.eventLoop.makeSucceededVoidFuture()
            case .idle, .connecting, .closed:
                return self.eventLoop.makeSucceededVoidFuture()
            }
        }
    }

    private func connectNow() {
        state.value.phase = .connecting
        let decoder = options.decoder
        let hooks = self.hooks
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(options.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                    try channel.pipeline.syncOperations.addHandler(hooks.makeHandler())
                }
            }
            .connect(host: url.host, port: url.port)
            .flatMap { channel in
                // A drop during the handshake fails it, even if the handshake itself waits on no reply.
                let ready = channel.eventLoop.makePromise(of: Void.self)
                channel.closeFuture.whenComplete { _ in ready.fail(RedisError.connectionLost) }
                hooks.handshake(channel).cascade(to: ready)
                return ready.futureResult.map { channel }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
            .hop(to: eventLoop)
            .whenComplete { result in self.attemptEnded(result) }
    }

    private func attemptEnded(_ result: Result<any Channel, any Error>) {
        let waiters = state.value.waiters
        state.value.waiters = []
        if case .closed = state.value.phase {
            if case .success(let channel) = result { channel.close(promise: nil) }
            waiters.forEach { $0.fail(RedisError.closed) }
            return
        }
        switch result {
        case .success(let channel):
            state.value.phase = .up(channel)
            state.value.attempt = 0
            logger.debug("connected to Redis", metadata: ["redis": "\(url)"])
            hooks.up(channel)
            channel.closeFuture.whenComplete { _ in self.channelClosed(channel) }
            waiters.forEach { $0.succeed() }
        case .failure(let error):
            logger.debug("connecting to Redis failed", metadata: ["redis": "\(url)", "error": "\(error)"])
            waiters.forEach { $0.fail(error) }
            scheduleRetry()
        }
    }

    private func channelClosed(_ channel: any Channel) {
        guard case .up(let current) = state.value.phase, current === channel else { return }
        logger.info("lost the connection to Redis; reconnecting", metadata: ["redis": "\(url)"])
        hooks.down()
        scheduleRetry()
    }

    private func scheduleRetry() {
        let delay = options.backoff.delay(attempt: state.value.attempt, using: &state.value.random)
        state.value.attempt += 1
        let retry = eventLoop.scheduleTask(in: TimeAmount(delay)) {
            guard case .waiting = self.state.value.phase else { return }
            self.connectNow()
        }
        state.value.phase = .waiting(retry)
    }
}
