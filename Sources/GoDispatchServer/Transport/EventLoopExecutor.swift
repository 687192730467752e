import GoDispatchCore
import NIOCore

/// A connection's event loop as the core's serial executor.
struct EventLoopExecutor: ConnectionExecutor {
    let eventLoop: any EventLoop

    func execute(_ work: @escaping @Sendable () -> Void) { eventLoop.execute(work) }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork {
        ScheduledTask(task: eventLoop.scheduleTask(in: TimeAmount(checked: delay), work))
    }

    /// A task scheduled on the loop.
    struct ScheduledTask: ScheduledWork {
        let task: Scheduled<Void>
        func cancel() { task.cancel() }
    }
}

extension TimeAmount {
    /// NIO's time amount for a duration, through the one checked conversion (``Swift/Duration/nanoseconds``).
    init(checked duration: Duration) { self = .nanoseconds(duration.nanoseconds) }
}
