import Dispatch
import GoDispatchCore
import GoDispatchTestSupport
import Synchronization

/// A serial executor on a DispatchQueue, standing in for a connection's event loop.
final class QueueExecutor: ConnectionExecutor {
    let queue: DispatchQueue

    init(label: String = "test.connection") { queue = DispatchQueue(label: label) }

    func execute(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork {
        let item = DispatchWorkItem(block: work)
        let nanos = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(nanos)), execute: item)
        return CancellableItem(item: item)
    }

    struct CancellableItem: ScheduledWork, @unchecked Sendable {
        let item: DispatchWorkItem
        func cancel() { item.cancel() }
    }
}

/// An in-memory transport: records every frame and close for the test to await.
final class TestTransport: ConnectionTransport {
    let executor: any ConnectionExecutor
    let frames = Mailbox<String>()
    let closes = Mailbox<(code: UInt16, reason: String)>()

    init(executor: QueueExecutor = QueueExecutor()) { self.executor = executor }

    func send(_ frame: OutboundFrame) { frames.put(frame.text) }

    func close(code: UInt16, reason: String) { closes.put((code, reason)) }

    /// The next frame as parsed JSON, or nil on timeout.
    func nextFrame(timeout: Duration = .seconds(30)) async -> JSONValue? {
        guard let text = await frames.take(timeout: timeout) else { return nil }
        return try? JSONReader.parse(Array(text.utf8))
    }
}
