import GoDispatchCore

/// Refuses new connections with 503 once the server holds `connections.max_total`.
public struct ConnectionCapMiddleware: GatewayMiddleware {
    let state: any StateManager
    let maxTotal: Int

    /// Caps `state`'s connections at `maxTotal`.
    public init(state: any StateManager, maxTotal: Int) {
        self.state = state
        self.maxTotal = maxTotal
    }

    public func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision {
        guard state.connectionCount < maxTotal else {
            return .reject(GatewayRejection(.serviceUnavailable, "server is at its connection capacity; retry later", kind: .serverFull))
        }
        return await next(request)
    }
}
