import Foundation
import Logging
import NIOCore

/// Keeps the connections of one event loop alive and honest with one repeating task instead of
/// timers per connection: each sweep pings clients quiet for `pingInterval`, closes those silent for
/// `idleTimeout` (1001) and those whose token has expired (4003). A sweep runs every second, or more
/// often when the intervals are shorter, so deadlines are kept to within one sweep.
///
/// A sweep goes through the connections in slices of ``sliceSize``, with the loop's I/O in between
/// (each slice after the first waits ``slicePause``), so a loop with many connections is never held up
/// for long: a slice costs about 0.1 ms, where one pass over 10,000 connections would stall every
/// delivery on the loop for several milliseconds once a second.
///
/// Its state is bound to its event loop (`NIOLoopBoundBox`).
final class ConnectionSweeper: Sendable {
    private struct State {
        var transports: [ChannelTransport] = []
        var task: RepeatedTask?
        /// A sweep's slices are still under way (a new sweep waits for the next interval).
        var sweeping = false
    }

    let eventLoop: any EventLoop
    /// How long a client may be quiet before it is pinged.
    let pingInterval: TimeAmount
    /// How long a client may be silent (not even a pong) before it is closed.
    let idleTimeout: TimeAmount
    /// The wall clock token expiry is judged by.
    let clock: @Sendable () -> Date
    /// The server's logger, for this loop's connections.
    let logger: Logger
    private let state: NIOLoopBoundBox<State>

    /// A sweeper for `eventLoop` (made off the loop, used only on it).
    init(
        eventLoop: any EventLoop, pingInterval: TimeAmount, idleTimeout: TimeAmount,
        clock: @escaping @Sendable () -> Date = Date.init, logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.logger = logger
        self.clock = clock
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    /// Connections looked at in one go; the rest of a sweep waits for the loop's next turn.
    static let sliceSize = 256
    /// The wait before each further slice of a sweep: enough for the loop to go back to its sockets.
    static let slicePause: TimeAmount = .microseconds(200)

    /// The time between sweeps: a second, or half the shorter interval if that is less.
    var sweepInterval: TimeAmount {
        max(.milliseconds(10), min(.seconds(1), min(pingInterval, idleTimeout) / 2))
    }

    /// Starts watching `transport` (until ``remove(_:)``).
    func add(_ transport: ChannelTransport) {
        transport.sweepIndex = state.value.transports.count
        state.value.transports.append(transport)
        if state.value.task == nil {
            state.value.task = eventLoop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) {
                [self] _ in sweep()
            }
        }
    }

    /// Stops watching `transport` (its channel has closed).
    func remove(_ transport: ChannelTransport) {
        let index = transport.sweepIndex
        guard index >= 0, index < state.value.transports.count, state.value.transports[index] === transport else { return }
        let last = state.value.transports.removeLast()
        if index < state.value.transports.count {
            state.value.transports[index] = last
            last.sweepIndex = index
        }
        transport.sweepIndex = -1
    }

    /// Starts a sweep over the connections watched now (a sweep may close some: it goes through what was
    /// there when it began; one closed since is skipped by its own lifecycle).
    private func sweep() {
        guard !state.value.sweeping else { return }
        state.value.sweeping = true
        sweepSlice(of: state.value.transports, from: 0)
    }

    private func sweepSlice(of watched: [ChannelTransport], from start: Int) {
        let now = NIODeadline.now()
        let wallClock = clock()
        let end = min(watched.count, start + Self.sliceSize)
        for index in start..<end {
            watched[index].sweep(now: now, wallClock: wallClock, pingInterval: pingInterval, idleTimeout: idleTimeout)
        }
        guard end < watched.count else {
            state.value.sweeping = false
            return
        }
        eventLoop.scheduleTask(in: Self.slicePause) { [self] in sweepSlice(of: watched, from: end) }
    }
}

extension TimeAmount {
    fileprivate static func / (lhs: TimeAmount, rhs: Int64) -> TimeAmount { .nanoseconds(lhs.nanoseconds / rhs) }
}
