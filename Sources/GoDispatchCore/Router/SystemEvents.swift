import Synchronization

/// Handles engine-reserved events (`auth.*`, such as `auth.refresh`) before configured events.
///
/// The server layer installs one, because what these events need (token verification, timers) lives there.
public protocol SystemEventHandler: Sendable {
    /// Handles `message` if it is a system event; returns false to route it normally.
    func handle(_ message: InboundMessage, from connection: Connection) -> Bool
}

/// Where the server installs its ``SystemEventHandler`` once the engine exists.
public final class SystemEvents: Sendable {
    private let handler = Mutex<(any SystemEventHandler)?>(nil)

    /// No handler yet.
    public init() {}

    /// Installs the handler.
    public func install(_ newHandler: any SystemEventHandler) { handler.withLock { $0 = newHandler } }

    /// The reserved prefix: events starting with it never reach configured pipelines.
    public static let prefix = "auth."

    func handle(_ message: InboundMessage, from connection: Connection) -> Bool {
        guard message.event.hasPrefix(Self.prefix), let current = handler.withLock({ $0 }) else { return false }
        return current.handle(message, from: connection)
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
