import GoDispatchCore

/// Admits connections into a cluster (`broker.type: redis`): subscribes this node to the user's channel
/// before the connection is accepted and, with `connections.per_user_limit`, counts the user's connections
/// on every node — `reject` refuses with 429, `cycle` closes the oldest wherever it is (4001). Redis
/// unreachable: 503. Replaces ``ConnectionLimitMiddleware``, which counts one node only.
public struct ClusterAdmissionMiddleware: GatewayMiddleware {
    let broker: RedisBroker
    let limit: Int?
    let strategy: ConnectionLimitStrategy

    /// Admission through `broker`, under `limit` per user (nil: no limit).
    public init(broker: RedisBroker, limit: Int?, strategy: ConnectionLimitStrategy) {
        self.broker = broker
        self.limit = limit
        self.strategy = strategy
    }

    public func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision {
        guard let user = request.identity?.userID else { return await next(request) }
        let id = InMemoryStateManager.makeConnectionID()
        switch await broker.admit(user: user, connection: id, limit: limit, strategy: strategy) {
        case .refused:
            return .reject(GatewayRejection(.tooManyRequests, "connection limit reached (\(limit ?? 0) per user)", kind: .userLimit))
        case .unavailable(let why):
            return .reject(GatewayRejection(.serviceUnavailable, "cluster unavailable: \(why)", kind: .brokerUnavailable))
        case .admitted(let release):
            var admitted = request
            admitted.connectionID = id
            admitted.leases.append(release)
            let decision = await next(admitted)
            if case .reject = decision { release.release() }
            return decision
        }
    }
}
