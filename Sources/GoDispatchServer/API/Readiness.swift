import Atomics

/// Whether the server should get new clients: `/ready` answers 200 only while ``isReady``.
/// Starting → ready once the configuration and plugins are loaded and the WebSocket listener is bound;
/// ready → draining at once on shutdown (SIGTERM), before the listener stops accepting. In a cluster the
/// node is also unready while its broker cannot reach Redis.
public final class Readiness: Sendable {
    /// The phases, in the only order they happen.
    public enum Phase: UInt8, Sendable {
        /// Not yet listening.
        case starting
        /// Listening and loaded.
        case ready
        /// Shutting down: no new clients, please.
        case draining
    }

    private let phase = ManagedAtomic<UInt8>(Phase.starting.rawValue)
    private let brokerAvailable = ManagedAtomic<Bool>(true)

    /// A server that is starting.
    public init() {}

    /// The current phase.
    public var current: Phase { Phase(rawValue: phase.load(ordering: .acquiring)) ?? .draining }
    /// True while new clients are welcome.
    public var isReady: Bool { current == .ready && isBrokerAvailable }

    /// Whether the cluster broker reaches Redis (always true with one node).
    public var isBrokerAvailable: Bool { brokerAvailable.load(ordering: .acquiring) }

    /// The cluster broker came up or went down.
    public func setBrokerAvailable(_ available: Bool) { brokerAvailable.store(available, ordering: .releasing) }

    /// What `/ready` says: `ready`, `starting`, `draining` or `broker_unavailable`.
    public var status: String {
        switch current {
        case .starting: "starting"
        case .draining: "draining"
        case .ready: isBrokerAvailable ? "ready" : "broker_unavailable"
        }
    }

    /// Starting → ready (a draining server never becomes ready again).
    public func markReady() {
        _ = phase.compareExchange(expected: Phase.starting.rawValue, desired: Phase.ready.rawValue, ordering: .acquiringAndReleasing)
    }

    /// Any phase → draining.
    public func markDraining() { phase.store(Phase.draining.rawValue, ordering: .releasing) }
}
