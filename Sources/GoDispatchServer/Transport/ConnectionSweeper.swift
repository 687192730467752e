import NIOCore

/// Keeps the connections of one event loop alive and honest with one repeating task instead of
/// timers per connection: each sweep pings clients quiet for `pingInterval`, closes those silent for
/// `idleTimeout` (1001) and those whose token has expired (4003). A sweep runs every second, or more
/// often when the intervals are shorter, so deadlines are kept to within one sweep.
///
/// Confined to its event loop.
final class ConnectionSweeper: @unchecked Sendable {
    let eventLoop: any EventLoop
    /// How long a client may be quiet before it is pinged.
    let pingInterval: TimeAmount
    /// How long a client may be silent (not even a pong) before it is closed.
    let idleTimeout: TimeAmount
    private var transports: [ChannelTransport] = []
    private var task: RepeatedTask?

    init(eventLoop: any EventLoop, pingInterval: TimeAmount, idleTimeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
    }

    /// The time between sweeps: a second, or half the shorter interval if that is less.
    var sweepInterval: TimeAmount {
        max(.milliseconds(10), min(.seconds(1), min(pingInterval, idleTimeout) / 2))
    }

    /// Starts watching `transport` (until ``remove(_:)``).
    func add(_ transport: ChannelTransport) {
        eventLoop.assertInEventLoop()
        transport.sweepIndex = transports.count
        transports.append(transport)
        if task == nil {
            task = eventLoop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { [self] _ in
                sweep()
            }
        }
    }

    /// Stops watching `transport` (its channel has closed).
    func remove(_ transport: ChannelTransport) {
        eventLoop.assertInEventLoop()
        let index = transport.sweepIndex
        guard index >= 0, index < transports.count, transports[index] === transport else { return }
        let last = transports.removeLast()
        if index < transports.count {
            transports[index] = last
            last.sweepIndex = index
        }
        transport.sweepIndex = -1
    }

    private func sweep() {
        let now = NIODeadline.now()
        let watched = transports  // a sweep may close connections; iterate what was there when it began
        for transport in watched {
            transport.sweep(now: now, pingInterval: pingInterval, idleTimeout: idleTimeout)
        }
    }
}

extension TimeAmount {
    fileprivate static func / (lhs: TimeAmount, rhs: Int64) -> TimeAmount { .nanoseconds(lhs.nanoseconds / rhs) }
}
