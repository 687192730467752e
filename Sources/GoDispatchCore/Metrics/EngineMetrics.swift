import CoreMetrics

/// What the engine counts, through a swift-metrics factory the host passes in — never the global
/// `MetricsSystem`, since tests run many engines in one process. An engine without one counts nothing,
/// at the cost of one nil check per message.
///
/// Every series a message touches exists before the message arrives: per event when the configuration
/// is compiled (``EventMetrics``, kept on the compiled event) and per action with each compiled step, so
/// counting is an atomic add, with no lookup and no allocation. Label values come from bounded sets only:
/// configured event and action names, and ``unknownEventLabel``, ``invalidMessageLabel``,
/// ``systemEventLabel`` — never a client-sent event name, nor a user, room or connection id.
public final class EngineMetrics: Sendable {
    /// `godispatch_messages_received_total{event}`: client messages routed, by event.
    public static let messagesReceived = "godispatch_messages_received_total"
    /// `godispatch_pipeline_duration_seconds{event}`: from routing a message to the end of its pipeline.
    public static let pipelineDuration = "godispatch_pipeline_duration_seconds"
    /// `godispatch_action_failures_total{action}`: steps that failed (error, refusal or timeout).
    public static let actionFailures = "godispatch_action_failures_total"
    /// The `event` label of a message naming an event the configuration does not have.
    public static let unknownEventLabel = "_unknown"
    /// The `event` label of a message that is not a valid envelope.
    public static let invalidMessageLabel = "_invalid"
    /// The `event` label of an engine-reserved event (`auth.*`).
    public static let systemEventLabel = "_system"

    let factory: any MetricsFactory
    private let unknown: Counter
    private let invalid: Counter
    private let system: Counter

    /// Counts into `factory` (the server passes a `PrometheusMetricsFactory` over its own registry).
    public init(factory: any MetricsFactory) {
        self.factory = factory
        unknown = Counter(label: Self.messagesReceived, dimensions: [("event", Self.unknownEventLabel)], factory: factory)
        invalid = Counter(label: Self.messagesReceived, dimensions: [("event", Self.invalidMessageLabel)], factory: factory)
        system = Counter(label: Self.messagesReceived, dimensions: [("event", Self.systemEventLabel)], factory: factory)
    }

    /// A message named an event that is not configured.
    func unknownEvent() { unknown.increment() }
    /// A message was not a valid envelope.
    func invalidMessage() { invalid.increment() }
    /// A message was an engine-reserved event.
    func systemMessage() { system.increment() }

    /// The series of the configured event `name` (at compile time; the factory returns existing series
    /// again, so a reload keeps counting where it was).
    func event(named name: String) -> EventMetrics { EventMetrics(event: name, factory: factory) }

    /// The failure counter of the action `name` (at compile time).
    func failures(ofAction name: String) -> Counter {
        Counter(label: Self.actionFailures, dimensions: [("action", name)], factory: factory)
    }
}

/// The series of one configured event, made when the configuration is compiled.
public final class EventMetrics: Sendable {
    private let received: Counter
    private let duration: Timer

    init(event: String, factory: any MetricsFactory) {
        received = Counter(label: EngineMetrics.messagesReceived, dimensions: [("event", event)], factory: factory)
        duration = Timer(label: EngineMetrics.pipelineDuration, dimensions: [("event", event)], factory: factory)
    }

    /// Counts a message routed to this event; returns what times its pipeline.
    func received(now: ContinuousClock.Instant = .now) -> PipelineTiming {
        received.increment()
        return PipelineTiming(metrics: self, start: now)
    }

    fileprivate func record(_ elapsed: Duration) {
        let (seconds, attoseconds) = elapsed.components
        duration.recordNanoseconds(seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
    }
}

/// Times one pipeline run, from routing to its end (completed, failed or abandoned).
struct PipelineTiming: Sendable {
    let metrics: EventMetrics
    let start: ContinuousClock.Instant

    /// Records the run's duration.
    func finished(now: ContinuousClock.Instant = .now) { metrics.record(now - start) }
}
