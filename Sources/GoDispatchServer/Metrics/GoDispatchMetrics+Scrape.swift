import GoDispatchCore
import Prometheus

extension GoDispatchMetrics {
    /// The values read at scrape time and the registry series they are copied into. Counters kept
    /// elsewhere (per-loop traffic, the HTTP callout gate, the handshake door) advance their registry
    /// counter by what they gained since the last scrape, so each stays one family with one `# TYPE`.
    struct ScrapeState: Sendable {
        /// Where the scrape reads from, once a server is attached.
        struct Sources: Sendable {
            let state: any StateManager
            let callouts: HTTPCalloutGate
            let handshakes: HandshakeGate?
        }

        var sources: Sources?
        var loops: [LoopMetrics] = []
        var lastSize = 0
        private let connections: Gauge
        private let users: Gauge
        private let rooms: Gauge
        private var synced: [SyncedCounter]

        init(registry: PrometheusCollectorRegistry) {
            connections = registry.makeGauge(descriptor: name("godispatch_connections", "Open WebSocket connections."))
            users = registry.makeGauge(descriptor: name("godispatch_users", "Users with at least one open connection."))
            rooms = registry.makeGauge(descriptor: name("godispatch_rooms", "Rooms with at least one member."))
            func counter(_ metric: String, _ labels: [(String, String)], _ help: String) -> Prometheus.Counter {
                labels.isEmpty
                    ? registry.makeCounter(descriptor: name(metric, help))
                    : registry.makeCounter(descriptor: name(metric, help), labels: labels)
            }
            let framesSent = counter("godispatch_frames_sent_total", [], "Message frames queued for clients.")
            let bytesSent = counter("godispatch_bytes_sent_total", [], "Bytes of message frames queued for clients.")
            let bytesReceived = counter("godispatch_bytes_received_total", [], "Bytes read from WebSocket clients.")
            synced = [
                SyncedCounter(counter: framesSent) { state in state.loops.reduce(0) { $0 + $1.framesSent } },
                SyncedCounter(counter: bytesSent) { state in state.loops.reduce(0) { $0 + $1.bytesSent } },
                SyncedCounter(counter: bytesReceived) { state in state.loops.reduce(0) { $0 + $1.bytesReceived } },
            ]
            let webhookHelp = "Plugins' HTTP callouts (webhooks), by outcome; one gate per process."
            for outcome in HTTPCalloutOutcomes.Outcome.allCases {
                let series = counter("godispatch_webhook_requests_total", [("outcome", outcome.rawValue)], webhookHelp)
                synced.append(SyncedCounter(counter: series) { $0.sources?.callouts.outcomes[outcome] ?? 0 })
            }
            let limit = registry.makeCounter(descriptor: rejectedName, labels: [("reason", handshakeLimit)])
            let timeout = registry.makeCounter(descriptor: rejectedName, labels: [("reason", handshakeTimeout)])
            synced.append(SyncedCounter(counter: limit) { $0.sources?.handshakes?.refused ?? 0 })
            synced.append(SyncedCounter(counter: timeout) { $0.sources?.handshakes?.timedOut ?? 0 })
        }

        /// Reads every scrape-time value into its series.
        mutating func update() {
            if let sources {
                connections.set(Int64(sources.state.connectionCount))
                users.set(Int64(sources.state.userCount))
                rooms.set(Int64(sources.state.roomCount))
            }
            for index in synced.indices {
                let total = synced[index].read(self)
                if total > synced[index].exported {
                    synced[index].counter.increment(by: Int64(total - synced[index].exported))
                    synced[index].exported = total
                }
            }
        }
    }

    /// A registry counter that follows a total kept elsewhere.
    struct SyncedCounter: Sendable {
        let counter: Prometheus.Counter
        var exported = 0
        let read: @Sendable (ScrapeState) -> Int

        init(counter: Prometheus.Counter, read: @escaping @Sendable (ScrapeState) -> Int) {
            self.counter = counter
            self.read = read
        }
    }
}
