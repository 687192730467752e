/// `connections.per_ip`: limits per client address, checked before authentication. Off unless written.
public struct PerIPSettings: Sendable, Equatable {
    /// Most open (upgraded) connections per address; nil = no cap. More get HTTP 429.
    public var max: Int?
    /// New upgrade attempts per address; nil = no rate. Faster attempts get HTTP 429.
    public var rate: ConnectionRateSettings?
    /// The header in which ``trustedProxies`` write the address of the client they forward.
    public var trustedProxyHeader: String = "X-Forwarded-For"
    /// Peers whose ``trustedProxyHeader`` is believed; from any other peer the socket's address counts.
    public var trustedProxies: [IPAddressRange] = []

    /// No limits and no proxies; the loader fills it in.
    public init() {}
}

/// `connections.per_ip.rate`: `connections` new upgrade attempts per `per`, bursts up to `burst`.
public struct ConnectionRateSettings: Sendable, Equatable {
    /// Attempts allowed per period.
    public var connections: Int
    /// The period.
    public var per: Duration
    /// Attempts allowed at once after a quiet spell (default = `connections`).
    public var burst: Int

    /// `connections` attempts per `per`, bursts up to `burst`.
    public init(connections: Int, per: Duration, burst: Int) {
        self.connections = connections
        self.per = per
        self.burst = burst
    }
}
