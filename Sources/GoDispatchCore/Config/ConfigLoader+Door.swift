import Yams

/// The keys that guard the door — the handshake and the per-address limits — read in one place.
extension ConfigLoader {
    /// `server.handshake_timeout` and `server.max_pending_handshakes`.
    static let handshakeKeys = ["handshake_timeout", "max_pending_handshakes"]

    /// Reads one of ``handshakeKeys`` into `server`.
    static func readHandshake(_ key: String, _ node: Node, into server: inout ServerSettings, reader: inout YAMLNodeReader) {
        let path = "server.\(key)"
        switch key {
        case "handshake_timeout":
            guard let value = reader.duration(node, at: path) else { return }
            guard value > .zero else {
                reader.fail(node, "`\(path)` must be longer than 0, e.g. 10s (how long a client may take to upgrade)")
                return
            }
            server.handshakeTimeout = value
        default:
            if let value = reader.int(node, at: path, range: 1...10_000_000) { server.maxPendingHandshakes = value }
        }
    }

    /// Reads `connections.per_ip`.
    static func readPerIP(_ node: Node, reader: inout YAMLNodeReader) -> PerIPSettings? {
        let path = "connections.per_ip"
        let keys = ["max", "rate", "trusted_proxy_header", "trusted_proxies"]
        guard let members = reader.mapping(node, at: path, allowed: keys) else { return nil }
        var settings = PerIPSettings()
        var headerNode: Node?
        for member in members {
            switch member.key {
            case "max":
                settings.max = reader.int(member.value, at: "\(path).max", range: 1...1_000_000)
            case "rate":
                settings.rate = readConnectionRate(member.value, at: "\(path).rate", reader: &reader)
            case "trusted_proxy_header":
                headerNode = member.value
                guard let name = reader.string(member.value, at: "\(path).trusted_proxy_header") else { continue }
                guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                    reader.fail(member.value, "`\(path).trusted_proxy_header` must be a header name such as X-Forwarded-For")
                    continue
                }
                settings.trustedProxyHeader = name
            case "trusted_proxies":
                for item in reader.stringList(member.value, at: "\(path).trusted_proxies") ?? [] {
                    guard let range = IPAddressRange(item.value) else {
                        reader.fail(
                            item.location,
                            "\"\(item.value)\" in `\(path).trusted_proxies` is not an IP address or CIDR range; "
                                + "write e.g. 127.0.0.1, 10.0.0.0/8 or fd00::/8")
                        continue
                    }
                    settings.trustedProxies.append(range)
                }
            default: break
            }
        }
        if settings.max == nil, settings.rate == nil, !members.contains(where: { $0.key == "max" || $0.key == "rate" }) {
            reader.fail(node, "`\(path)` needs `max:` (open connections per address) or `rate:` (new ones), e.g. { max: 20 }")
        }
        if let headerNode, !members.contains(where: { $0.key == "trusted_proxies" }) {
            reader.fail(
                headerNode,
                "`\(path).trusted_proxy_header` is believed only from `trusted_proxies`; list your proxies, "
                    + "e.g. trusted_proxies: [\"10.0.0.0/8\"]")
        }
        return settings
    }

    private static func readConnectionRate(_ node: Node, at path: String, reader: inout YAMLNodeReader) -> ConnectionRateSettings? {
        readTokenBucket(node, at: path, countKey: "connections", example: "{ connections: 10, per: 1s, burst: 20 }", reader: &reader)
            .map { ConnectionRateSettings(connections: $0.count, per: $0.per, burst: $0.burst) }
    }
}
