import Foundation
import Logging

/// Logs one line per upgrade attempt with its outcome. Never logs the token: only `sub` and the reason.
public struct RequestLoggingMiddleware: GatewayMiddleware {
    let logger: Logger

    /// Logs to `logger`.
    public init(logger: Logger) { self.logger = logger }

    public func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision {
        let decision = await next(request)
        var metadata: Logger.Metadata = [
            "request": "\(request.id)", "remote": "\(request.remoteAddress)", "path": "\(request.path)",
            "ms": "\(Int(Date().timeIntervalSince(request.receivedAt) * 1000))",
        ]
        switch decision {
        case .upgrade(let accepted):
            metadata["user"] = "\(accepted.identity?.userID ?? "-")"
            if accepted.evictOldest > 0 { metadata["evicting"] = "\(accepted.evictOldest)" }
            logger.info("upgrade accepted", metadata: metadata)
        case .reject(let rejection):
            metadata["status"] = "\(rejection.status.code)"
            metadata["reason"] = "\(rejection.reason)"
            logger.notice("upgrade refused", metadata: metadata)
        }
        return decision
    }
}
