import Atomics
import Logging

/// Routes client messages: parses the envelope, finds the event's pipeline, checks permissions, runs it.
///
/// Call ``handle(_:from:)`` on the connection's executor. Errors go back to the sender as error frames
/// and the connection stays usable. A connection's messages run in order: while a pipeline (or a
/// system event such as `auth.refresh`) is pending, later messages wait in the connection's inbox,
/// bounded in count and bytes. A closed connection's messages are dropped.
public final class Router: Sendable {
    private let current: ManagedAtomic<CompiledConfig>

    /// The compiled configuration new messages are routed by: an atomic snapshot, swapped on reload
    /// (a running pipeline finishes on the configuration it started with).
    public var config: CompiledConfig { current.load(ordering: .acquiring) }
    /// The services pipelines use.
    public let services: EngineServices
    /// Engine-reserved events (`auth.*`), handled by the server layer.
    public let systemEvents = SystemEvents()

    /// Routes by `config`.
    public init(config: CompiledConfig, services: EngineServices) {
        current = ManagedAtomic(config)
        self.services = services
        services.roomRules.replace(config.rooms)
        services.streams.apply(config.settings.rooms)
    }

    /// Routes new messages by `config` from now on; rooms follow its `rooms:` rules (cached rule
    /// lookups are forgotten, streams that still keep history keep their epoch and offset).
    func replaceConfig(_ config: CompiledConfig) {
        if config.settings.rooms != self.config.settings.rooms { services.streams.apply(config.settings.rooms) }
        current.store(config, ordering: .releasing)
        services.roomRules.replace(config.rooms)
    }

    /// Handles one text message from `connection`.
    public func handle(_ bytes: [UInt8], from connection: Connection) {
        guard !connection.isClosed else { return }
        let config = self.config
        if let limit = config.settings.connections.rateLimit, !admit(connection, limit: limit) { return }
        if connection.isBusy {
            if !connection.inbox.enqueue(bytes, maxBytes: config.settings.connections.maxInboxBytes) {
                connection.transport.send(
                    FrameEncoder.error(.busy, "too many messages waiting behind a pending action; slow down"))
            }
            return
        }
        route(bytes, from: connection, config: config)
    }

    /// Applies the connection's rate limit: false if the message must be dropped. A reload that changes
    /// `connections.rate_limit` gives open connections a fresh limiter with the new limit.
    private func admit(_ connection: Connection, limit: RateLimitSettings) -> Bool {
        let inbox = connection.inbox
        if inbox.rateLimiter == nil || inbox.rateLimit != limit {
            inbox.rateLimiter = RateLimiter(messages: limit.messages, per: limit.per, burst: limit.burst)
            inbox.rateLimit = limit
        }
        switch inbox.rateLimiter!.admit(at: services.clock()) {
        case .allow:
            return true
        case .refuse:
            connection.transport.send(
                FrameEncoder.error(.rateLimited, "more than \(limit.messages) messages per \(limit.per); slow down"))
            return false
        case .disconnect:
            services.logger.notice("closing a connection that keeps exceeding its rate limit", metadata: ["user": "\(connection.user.id)"])
            connection.transport.close(code: 1008, reason: "rate limit exceeded")
            return false
        }
    }

    /// Routes one message by `config` (read once per message: a reload mid-way cannot mix two configs).
    private func route(_ bytes: [UInt8], from connection: Connection, config: CompiledConfig) {
        let message: InboundMessage
        do {
            message = try EnvelopeParser.parse(bytes)
        } catch {
            services.metrics?.invalidMessage()
            connection.transport.send(FrameEncoder.error(.badRequest, error.message, ref: error.idJSON))
            return next(for: connection)
        }
        if systemEvents.handles(message) {
            services.metrics?.systemMessage()
            // Later messages wait until the system event is done (an `auth.refresh` changes what
            // they may do), like behind a pending pipeline.
            connection.isBusy = true
            systemEvents.handle(message, from: connection) { [self] in
                connection.isBusy = false
                next(for: connection)
            }
            return
        }
        let ref = message.idJSON.map(Array.init)
        guard let event = config.events[message.event] else {
            services.metrics?.unknownEvent()
            connection.transport.send(FrameEncoder.error(.unknownEvent, "unknown event `\(message.event)`", ref: ref))
            return next(for: connection)
        }
        let timing = event.metrics?.received()
        let cargo = Cargo(message: message, origin: connection)
        for requirement in event.requires {
            let permission = cargo.text(requirement)
            if !connection.user.permissions.contains(permission) {
                connection.transport.send(
                    FrameEncoder.error(.forbidden, "`\(message.event)` requires the permission `\(permission)`", ref: ref))
                return next(for: connection)
            }
        }
        if let schema = event.schema {
            let payload = message.payloadRange.map { range in message.bytes.withUnsafeBytes { JSONReader($0).value(in: range) } } ?? .null
            if let violation = schema.firstViolation(in: payload) {
                let location = violation.pointer.isEmpty ? "payload" : "payload at \(violation.pointer)"
                connection.transport.send(
                    FrameEncoder.error(.invalidPayload, "\(location) \(violation.message)", ref: ref, pointer: violation.pointer))
                return next(for: connection)
            }
        }
        connection.isBusy = true
        let run = PipelineRun(event: event, message: message, connection: connection, services: services) {
            [self] _ in
            timing?.finished()
            connection.isBusy = false
            next(for: connection)
        }
        run.start()
    }

    /// Runs `lifecycle.connect` for a connection that just authenticated (on its executor, before
    /// any of its messages: they wait in its inbox while the pipeline is pending).
    public func connected(_ connection: Connection) {
        guard let hook = config.lifecycle["lifecycle.connect"] else { return }
        runLifecycle(hook, connection: connection, close: nil)
    }

    /// Runs `lifecycle.disconnect` for a connection that ended, with its close code and reason. Call it
    /// on the connection's executor before removing the connection from the state, so the pipeline's
    /// first steps still see its rooms; steps after a pending one run once it is gone.
    /// Messages still waiting in the connection's inbox are dropped.
    public func disconnected(_ connection: Connection, code: UInt16, reason: String) {
        connection.inboxIfMade?.removeAll()
        guard let hook = config.lifecycle["lifecycle.disconnect"] else { return }
        runLifecycle(hook, connection: connection, close: (code, reason))
    }

    private func runLifecycle(_ hook: CompiledEvent, connection: Connection, close: (code: UInt16, reason: String)?) {
        var envelope = JSONWriter()
        envelope.writeASCII("{\"event\":")
        envelope.writeString(hook.name)
        envelope.writeASCII("}")
        guard let message = try? EnvelopeParser.parse(envelope.bytes) else { return }
        let isConnect = close == nil
        if isConnect { connection.isBusy = true }
        let run = PipelineRun(event: hook, message: message, connection: connection, services: services, close: close) {
            [self] outcome in
            if case .failed(_, let text) = outcome {
                services.logger.notice("lifecycle pipeline failed", metadata: ["hook": "\(hook.name)", "reason": "\(text)"])
            }
            guard isConnect else { return }
            connection.isBusy = false
            next(for: connection)
        }
        run.start()
    }

    /// Starts the next waiting message, if the connection is idle (and drops them all once it closed).
    private func next(for connection: Connection) {
        if connection.isClosed { return connection.inboxIfMade?.removeAll() ?? () }
        guard !connection.isBusy, let bytes = connection.inboxIfMade?.dequeue() else { return }
        route(bytes, from: connection, config: config)
    }
}
