import GoDispatchCore

/// `connections.per_ip`: caps the open connections (`max`) and the new upgrade attempts (`rate`) of each
/// client address, refusing the excess with HTTP 429 and a body naming the limit. The address is the
/// socket's peer, or the forwarded one when the peer is a trusted proxy (``ClientAddressResolver``).
///
/// Runs before authentication, so a flood from one address costs no signature checks. An admitted
/// request carries a ``ConnectionLease`` that gives its place back when the connection closes, or at once
/// if a later middleware refuses it. One lock guards the table; it is taken twice per connection (at the
/// upgrade and at the close), never per message.
public final class PerIPLimitMiddleware: GatewayMiddleware {
    private let table: Locked<PerIPTable>
    private let resolver: ClientAddressResolver
    private let settings: PerIPSettings

    /// Limits per `settings`.
    public init(settings: PerIPSettings) {
        self.settings = settings
        self.table = Locked(PerIPTable(max: settings.max, rate: settings.rate))
        self.resolver = ClientAddressResolver(header: settings.trustedProxyHeader, trustedProxies: settings.trustedProxies)
    }

    /// Addresses the table remembers now (open connections, or a bucket still refilling).
    public var trackedAddresses: Int { table.withLock { $0.entries.count } }

    public func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision {
        guard let peer = request.peerAddress else { return await next(request) }
        let client = resolver.clientAddress(peer: peer, headers: request.headers)
        var enriched = request
        enriched.clientAddress = client
        switch table.withLock({ $0.admit(client, at: .now) }) {
        case .tooFast:
            return .reject(GatewayRejection(.tooManyRequests, rateMessage, kind: .perIPRate))
        case .tooManyOpen:
            return .reject(
                GatewayRejection(
                    .tooManyRequests,
                    "too many open connections from your address (connections.per_ip.max: \(settings.max ?? 0))",
                    kind: .perIP))
        case .admit:
            break
        }
        let lease = ConnectionLease { [self] in table.withLock { $0.release(client, at: .now) } }
        enriched.leases.append(lease)
        let decision = await next(enriched)
        if case .reject = decision { lease.release() }
        return decision
    }

    private var rateMessage: String {
        guard let rate = settings.rate else { return "too many new connections from your address" }
        return "too many new connections from your address (connections.per_ip.rate: \(rate.connections) per "
            + "\(Self.text(rate.per)), burst \(rate.burst)); retry later"
    }

    /// A period as the config writes it: `1s`, `3600s`, `250ms`.
    private static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? "\(seconds)s" : "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000)ms"
    }
}
