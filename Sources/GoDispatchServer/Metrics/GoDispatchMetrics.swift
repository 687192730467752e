import CoreMetrics
import GoDispatchCore
import Prometheus

/// The server's Prometheus metrics: one registry of its own (never the global `MetricsSystem`, so
/// many servers can run in one process), the engine's series (``engine``, for `Engine(metrics:)`), the
/// transport's and gateway's counters, and the values read when it is scraped (connections, users,
/// rooms, per-loop traffic, HTTP callouts). ``render()`` returns the Prometheus text exposition.
///
/// Labels come from bounded sets only (configured event and action names, error and close codes,
/// rejection kinds, API methods, outcomes): never a user, room or connection id. A server without one
/// counts nothing. See docs/OPERATIONS.md, "Metrics", for the list.
public final class GoDispatchMetrics: Sendable {
    /// The methods `godispatch_api_requests_total{method}` names; any other is counted as `_unknown`.
    public static let apiMethods: Set<String> = [
        "publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "refresh", "presence", "presence_stats",
        "history", "history_remove", "channels", "info", "batch",
    ]
    /// The label of an API method outside the known list, and of an event no configuration has.
    public static let unknownLabel = "_unknown"
    /// Histogram buckets for pipeline and API durations: 100 µs to 10 s.
    public static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The registry every series lives in.
    public let registry: PrometheusCollectorRegistry
    /// The engine's series: pass it to `Engine(metrics:)`.
    public let engine: EngineMetrics
    /// The API methods counted by name.
    public let knownAPIMethods: Set<String>

    private let accepted: Prometheus.Counter
    private let rejections: [String: Prometheus.Counter]
    private let errors: [ErrorCode: Prometheus.Counter]
    private let disconnects: [String: Prometheus.Counter]
    private let apiSeries = Locked<[String: APISeries]>([:])
    private let scrape: Locked<ScrapeState>

    /// Metrics in `registry` (a new one by default); `apiMethods` are the API methods counted by name.
    public init(
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        apiMethods: Set<String> = GoDispatchMetrics.apiMethods
    ) {
        self.registry = registry
        self.knownAPIMethods = apiMethods
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[EngineMetrics.pipelineDuration] = Self.durationBuckets
        engine = EngineMetrics(factory: factory)
        registry.makeGauge(
            descriptor: Self.name("godispatch_build_info", "Always 1; the label carries the engine's version."),
            labels: [("version", GoDispatchVersion.current)]
        ).set(Int64(1))
        accepted = registry.makeCounter(
            descriptor: Self.name("godispatch_connections_accepted_total", "WebSocket connections accepted by the gateway."))
        var rejections: [String: Prometheus.Counter] = [:]
        for label in GatewayRejection.Kind.allCases.map(\.label) + [Self.handshakeLimit, Self.handshakeTimeout] {
            rejections[label] = registry.makeCounter(descriptor: Self.rejectedName, labels: [("reason", label)])
        }
        self.rejections = rejections
        var errors: [ErrorCode: Prometheus.Counter] = [:]
        for code in ErrorCode.allCases {
            errors[code] = registry.makeCounter(
                descriptor: Self.name("godispatch_errors_total", "Error frames sent to clients, by code."),
                labels: [("code", code.rawValue)])
        }
        self.errors = errors
        var disconnects: [String: Prometheus.Counter] = [:]
        for label in Self.closeCodeLabels {
            disconnects[label] = registry.makeCounter(
                descriptor: Self.name(
                    "godispatch_disconnects_total",
                    "Connections ended, by close code (1006: the socket dropped without a close frame)."),
                labels: [("code", label)])
        }
        self.disconnects = disconnects
        scrape = Locked(ScrapeState(registry: registry))
    }

    // MARK: Counting (server internals)

    /// A connection was accepted and is now open.
    func connectionAccepted() { accepted.increment() }

    /// The gateway refused an upgrade.
    func connectionRejected(_ kind: GatewayRejection.Kind) { rejections[kind.label]?.increment() }

    /// An error frame with `code` was sent.
    func errorSent(_ code: ErrorCode) { errors[code]?.increment() }

    /// A connection ended with close `code`.
    func disconnected(code: UInt16) { disconnects[Self.closeCodeLabel(code)]?.increment() }

    /// Per-loop traffic counters for one event loop, summed at every scrape.
    func makeLoopMetrics() -> LoopMetrics {
        let loop = LoopMetrics(shared: self)
        scrape.withLock { $0.loops.append(loop) }
        return loop
    }

    /// What the scrape reads: the state core's sizes, the plugins' HTTP callouts, the handshake door.
    func observe(state: any StateManager, callouts: HTTPCalloutGate, handshakes: HandshakeGate?) {
        scrape.withLock { $0.sources = ScrapeState.Sources(state: state, callouts: callouts, handshakes: handshakes) }
    }

    // MARK: API

    /// Counts one backend API request: `method` as it was asked for (a method outside
    /// ``knownAPIMethods`` is counted as `_unknown`), `result` from the API's fixed vocabulary (`ok`,
    /// an error code; anything but 1–32 of `a-z`, `0-9`, `_` is counted as `_other`), and how long it took.
    public func recordAPIRequest(method: String, result: String, duration: Duration) {
        let method = knownAPIMethods.contains(method) ? method : Self.unknownLabel
        let result = Self.isPlainLabel(result) ? result : "_other"
        let series = apiSeries.withLock { cache in
            let key = method + "\u{0}" + result
            if let series = cache[key] { return series }
            let series = APISeries(
                requests: registry.makeCounter(
                    descriptor: Self.name("godispatch_api_requests_total", "Backend API requests, by method and result."),
                    labels: [("method", method), ("result", result)]),
                duration: registry.makeDurationHistogram(
                    descriptor: Self.name("godispatch_api_duration_seconds", "Backend API request durations, by method."),
                    labels: [("method", method)], buckets: Self.durationBuckets))
            cache[key] = series
            return series
        }
        series.requests.increment()
        series.duration.record(duration)
    }

    // MARK: Exposition

    /// The Prometheus text exposition (format 0.0.4) of every series, with the scrape-time values read now.
    public func render() -> [UInt8] {
        scrape.withLock { state in
            state.update()
            var output: [UInt8] = []
            output.reserveCapacity(state.lastSize + 1024)
            registry.emit(into: &output)
            state.lastSize = output.count
            return output
        }
    }
}

extension GoDispatchMetrics {
    /// `godispatch_connections_rejected_total{reason}` of sockets closed at accept: too many handshakes pending.
    static let handshakeLimit = "handshake_limit"
    /// … of sockets that did not finish their handshake in `server.handshake_timeout`.
    static let handshakeTimeout = "handshake_timeout"
    /// `godispatch_connections_rejected_total` (the registry insists on one help text per name).
    static var rejectedName: MetricNameDescriptor {
        name(
            "godispatch_connections_rejected_total",
            "Upgrade requests and sockets refused before becoming connections, by reason.")
    }

    /// The registry's descriptor for the full metric name `name`.
    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Close codes counted by number: RFC 6455's and the IANA registry's, and the engine's own (4001
    /// replaced by a newer connection, 4003 token expired). Others count as `3xxx`, `4xxx` or `other`.
    static let closeCodeLabels: [String] =
        (1000...1015).map { String($0) } + ["4001", "4003", "3xxx", "4xxx", "other"]

    /// The `code` label of close code `code`.
    static func closeCodeLabel(_ code: UInt16) -> String {
        switch code {
        case 1000...1015, 4001, 4003: String(code)
        case 3000...3999: "3xxx"
        case 4000...4999: "4xxx"
        default: "other"
        }
    }

    /// True for 1–32 characters of `a-z`, `0-9`, `_`.
    static func isPlainLabel(_ text: String) -> Bool {
        let utf8 = text.utf8
        return (1...32).contains(utf8.count)
            && utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }

    /// One API method's series for one result.
    struct APISeries: Sendable {
        let requests: Prometheus.Counter
        let duration: DurationHistogram
    }
}
