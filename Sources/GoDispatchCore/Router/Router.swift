import Logging

/// Routes client messages: parses the envelope, finds the event's pipeline, checks permissions, runs it.
///
/// Call ``handle(_:from:)`` on the connection's executor. Errors go back to the sender as error frames
/// and the connection stays usable. A connection's messages run in order: while a pipeline is pending,
/// later messages wait (up to ``ConnectionInbox/capacity``).
public final class Router: Sendable {
    /// The compiled configuration messages are routed by.
    public let config: CompiledConfig
    /// The services pipelines use.
    public let services: EngineServices

    /// Routes by `config`.
    public init(config: CompiledConfig, services: EngineServices) {
        self.config = config
        self.services = services
    }

    /// Handles one text message from `connection`.
    public func handle(_ bytes: [UInt8], from connection: Connection) {
        let inbox = connection.inbox
        if inbox.isRunning {
            if !inbox.enqueue(bytes) {
                connection.transport.send(
                    FrameEncoder.error(.busy, "too many messages waiting behind a pending action; slow down"))
            }
            return
        }
        route(bytes, from: connection)
    }

    private func route(_ bytes: [UInt8], from connection: Connection) {
        let message: InboundMessage
        do {
            message = try EnvelopeParser.parse(bytes)
        } catch {
            connection.transport.send(FrameEncoder.error(.badRequest, error.message, ref: error.idJSON))
            return next(for: connection)
        }
        let ref = message.idJSON.map(Array.init)
        guard let event = config.events[message.event] else {
            connection.transport.send(FrameEncoder.error(.unknownEvent, "unknown event `\(message.event)`", ref: ref))
            return next(for: connection)
        }
        let cargo = Cargo(message: message, connection: connection)
        for requirement in event.requires {
            let permission = cargo.text(requirement)
            if !connection.user.permissions.contains(permission) {
                connection.transport.send(
                    FrameEncoder.error(.forbidden, "`\(message.event)` requires the permission `\(permission)`", ref: ref))
                return next(for: connection)
            }
        }
        connection.inbox.isRunning = true
        let run = PipelineRun(event: event, message: message, connection: connection, services: services) {
            [self] _ in
            connection.inbox.isRunning = false
            next(for: connection)
        }
        run.start()
    }

    /// Starts the next waiting message, if the connection is idle.
    private func next(for connection: Connection) {
        guard !connection.inbox.isRunning, let bytes = connection.inbox.dequeue() else { return }
        route(bytes, from: connection)
    }
}
