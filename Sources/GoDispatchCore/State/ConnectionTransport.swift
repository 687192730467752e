/// An encoded server-to-client frame, built once and shared by every recipient.
public final class OutboundFrame: Sendable {
    /// The frame's JSON text as UTF-8.
    public let bytes: [UInt8]
    /// The code of an error frame (the transport counts them by code); nil for any other frame.
    public let errorCode: ErrorCode?

    /// Wraps encoded JSON (`errorCode` set for an error frame).
    public init(bytes: [UInt8], errorCode: ErrorCode? = nil) {
        self.bytes = bytes
        self.errorCode = errorCode
    }

    /// The frame as a string (tests and logs).
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A serial executor: the event loop a connection lives on.
public protocol ConnectionExecutor: Sendable {
    /// Enqueues `work` to run later on this executor. Never runs it inline.
    func execute(_ work: @escaping @Sendable () -> Void)
    /// Runs `work` after `delay` unless the returned handle is cancelled first.
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork
}

/// Work scheduled for later.
public protocol ScheduledWork: Sendable {
    /// Prevents the work from running if it has not started.
    func cancel()
}

/// How the core reaches one client; the transport layer implements it.
public protocol ConnectionTransport: AnyObject, Sendable {
    /// The executor this connection's messages and pipelines run on.
    var executor: any ConnectionExecutor { get }
    /// Queues a frame for the client (from any thread).
    func send(_ frame: OutboundFrame)
    /// Closes the connection with a WebSocket close code and reason (from any thread).
    func close(code: UInt16, reason: String)
}

/// Delivers one frame to many connections; the transport groups the writes per event loop.
public protocol FrameFanOut: Sendable {
    /// Delivers `frame` to every connection in `recipients`.
    func deliver(_ frame: OutboundFrame, to recipients: [Connection])
}

/// The simplest fan-out: one `send` per recipient.
public struct DirectFanOut: FrameFanOut {
    /// Creates the fan-out.
    public init() {}

    public func deliver(_ frame: OutboundFrame, to recipients: [Connection]) {
        for connection in recipients { connection.transport.send(frame) }
    }
}
