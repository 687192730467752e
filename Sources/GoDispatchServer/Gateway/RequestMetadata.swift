import Foundation
import GoDispatchCore
import NIOHTTP1

/// What the gateway knows about an upgrade request: built from the HTTP request, then enriched by
/// each middleware (the JWT middleware adds ``identity``, the limit middleware ``evictOldest``).
public struct RequestMetadata: Sendable {
    /// A short id for log lines about this request.
    public var id: String
    /// The client's address, e.g. `127.0.0.1:53122`.
    public var remoteAddress: String
    /// The request path without the query.
    public var path: String
    /// Query parameters (percent-decoded).
    public var query: [String: String]
    /// The request headers.
    public var headers: HTTPHeaders
    /// When the request arrived.
    public var receivedAt: Date
    /// Set by authentication.
    public var identity: Identity?
    /// Set by the connection limit: how many of the user's oldest connections to close after the upgrade.
    public var evictOldest: Int = 0
    /// The socket peer's IP address (nil if it has none, e.g. a Unix socket).
    public var peerAddress: IPAddress?
    /// Set by the per-address limit: the client's address (the peer, or what a trusted proxy forwarded).
    public var clientAddress: IPAddress?
    /// The id the connection will have, when a middleware had to decide it early (the cluster admission
    /// reserves a slot under it); nil: a new random one.
    public var connectionID: String?
    /// What the accepted connection holds until it closes; the server releases them when its channel closes.
    public var leases: [ConnectionLease] = []

    /// Who a verified token says the client is.
    public struct Identity: Sendable, Equatable {
        /// The token's `sub`.
        public var userID: String
        /// The token's `perms`.
        public var permissions: [String]
        /// The token's `exp`, if any.
        public var expiresAt: Date?
        /// The token's claims as signed (a JSON object), read by `{{user.claims.<path>}}`.
        public var claims: [UInt8]? = nil
    }

    /// Builds metadata from a request head.
    public init(id: String, remoteAddress: String, uri: String, headers: HTTPHeaders, receivedAt: Date = Date()) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.headers = headers
        self.receivedAt = receivedAt
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts.first ?? "")
        query = parts.count > 1 ? Self.parseQuery(String(parts[1])) : [:]
    }

    private static func parseQuery(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(kv[0])
            result[key] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return result
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
