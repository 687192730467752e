
/// Handles engine-reserved events (`auth.*`, such as `auth.refresh`) before configured events.
///
/// The server layer installs one, because what these events need (token verification, timers) lives there.
public protocol SystemEventHandler: Sendable {
    /// True if this handler takes `message` (an engine-reserved event it knows).
    func handles(_ message: InboundMessage) -> Bool
    /// Handles `message` and calls `done` exactly once, on the connection's executor, when it is
    /// finished; the connection's later messages wait until then (so they see what it changed).
    func handle(_ message: InboundMessage, from connection: Connection, done: @escaping @Sendable () -> Void)
}

/// Where the server installs its ``SystemEventHandler`` once the engine exists.
public final class SystemEvents: Sendable {
    private let handler = Locked<(any SystemEventHandler)?>(nil)

    /// No handler yet.
    public init() {}

    /// Installs the handler.
    public func install(_ newHandler: any SystemEventHandler) { handler.withLock { $0 = newHandler } }

    /// The reserved prefix: events starting with it never reach configured pipelines.
    public static let prefix = "auth."

    /// True if `message` is a system event the installed handler takes.
    func handles(_ message: InboundMessage) -> Bool {
        guard message.event.hasPrefix(Self.prefix), let current = handler.withLock({ $0 }) else { return false }
        return current.handles(message)
    }

    /// Hands `message` to the installed handler (call only after ``handles(_:)`` said yes).
    func handle(_ message: InboundMessage, from connection: Connection, done: @escaping @Sendable () -> Void) {
        guard let current = handler.withLock({ $0 }) else { return done() }
        current.handle(message, from: connection, done: done)
    }
}

extension InboundMessage {
    /// A string member of the payload object, e.g. `payload.token`.
    public func payloadString(_ key: String) -> String? {
        guard let range = payloadRange else { return nil }
        return bytes.withUnsafeBytes { raw -> String? in
            let reader = JSONReader(raw)
            var key = key
            let found = key.withUTF8 { reader.member(ofObjectAt: range.lowerBound, key: UnsafeRawBufferPointer($0)) }
            guard let found, raw[found.lowerBound] == UInt8(ascii: "\"") else { return nil }
            return reader.decodeString(contentsOf: (found.lowerBound + 1)..<(found.upperBound - 1))
        }
    }
}
