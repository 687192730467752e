import GoDispatchCore
import NIOCore

/// A connection's event loop as the core's serial executor.
struct EventLoopExecutor: ConnectionExecutor {
    let eventLoop: any EventLoop

    func execute(_ work: @escaping @Sendable () -> Void) { eventLoop.execute(work) }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork {
        let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
        return ScheduledTask(task: eventLoop.scheduleTask(in: .nanoseconds(nanoseconds), work))
    }

    struct ScheduledTask: ScheduledWork {
        let task: Scheduled<Void>
        func cancel() { task.cancel() }
    }
}
