import GoDispatchCore
import NIOHTTP1

/// Who a client is, by address: the socket's peer — or, only when the peer is one of the trusted
/// proxies, the address the proxies forwarded in their header (`X-Forwarded-For` by default).
///
/// Each proxy appends the address it received the request from, so the header is read from the right:
/// entries written by trusted proxies are skipped, and the first untrusted one is the client (anything to
/// its left was written by the client itself and proves nothing). When every entry is trusted the
/// left-most one is the client; when an entry does not parse, the last trusted hop before it stands for
/// the client (a misconfigured proxy must not let clients pick their own key).
public struct ClientAddressResolver: Sendable {
    /// The header the trusted proxies write.
    public let header: String
    /// The peers whose header is believed.
    public let trustedProxies: [IPAddressRange]

    /// Believes `header` only from `trustedProxies`.
    public init(header: String, trustedProxies: [IPAddressRange]) {
        self.header = header
        self.trustedProxies = trustedProxies
    }

    /// The client's address for a request from `peer` carrying `headers`.
    public func clientAddress(peer: IPAddress, headers: HTTPHeaders) -> IPAddress {
        guard isTrusted(peer) else { return peer }
        var client = peer
        for hop in headers[canonicalForm: header].reversed() {
            guard let address = Self.address(in: hop) else { return client }
            client = address
            if !isTrusted(address) { return address }
        }
        return client
    }

    /// True if `address` is one of the trusted proxies.
    public func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// The address in one header entry: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`,
    /// optionally in double quotes.
    static func address(in entry: Substring) -> IPAddress? {
        var text = entry
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = text[text.index(after: text.startIndex)..<close]
        } else if let colon = text.firstIndex(of: ":"), text[text.index(after: colon)...].firstIndex(of: ":") == nil {
            text = text[..<colon]  // IPv4 with a port (IPv6 has more than one colon)
        }
        return IPAddress(String(text))
    }
}
