import Testing

@testable import GoDispatchCore

@Suite("Configuration of the door: handshake limits, per-address limits, addresses")
struct DoorConfigTests {
    @Test func defaultsAndEveryKey() throws {
        let defaults = try parseConfig("auth: {jwt: {secret: s}}\nevents: {}\n")
        #expect(defaults.server.handshakeTimeout == .seconds(10))
        #expect(defaults.server.maxPendingHandshakes == 1024)
        #expect(defaults.connections.perIP == nil, "off unless written")

        let config = try parseConfig(
            """
            server: { handshake_timeout: 300ms, max_pending_handshakes: 50 }
            auth: {jwt: {secret: s}}
            connections:
              per_ip:
                max: 20
                rate: { connections: 5, per: 2s, burst: 8 }
                trusted_proxy_header: X-Real-IP
                trusted_proxies: ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]
            events: {}
            """)
        #expect(config.server.handshakeTimeout == .milliseconds(300))
        #expect(config.server.maxPendingHandshakes == 50)
        let perIP = try #require(config.connections.perIP)
        #expect(perIP.max == 20)
        #expect(perIP.rate == ConnectionRateSettings(connections: 5, per: .seconds(2), burst: 8))
        #expect(perIP.trustedProxyHeader == "X-Real-IP")
        #expect(perIP.trustedProxies.map(\.description) == ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"])

        let rateOnly = try parseConfig("auth: {jwt: {secret: s}}\nconnections: {per_ip: {rate: {connections: 3}}}\nevents: {}\n")
        #expect(rateOnly.connections.perIP?.rate == ConnectionRateSettings(connections: 3, per: .seconds(1), burst: 3))
        #expect(rateOnly.connections.perIP?.max == nil)
        #expect(rateOnly.connections.perIP?.trustedProxyHeader == "X-Forwarded-For")
    }

    /// Each error with the exact line and column it names.
    @Test(arguments: [
        ("server: { handshake_timeout: soon }\n", 1, 30, "must be a duration"),
        ("server: { handshake_timeout: 0s }\n", 1, 30, "`server.handshake_timeout` must be longer than 0"),
        ("server: { max_pending_handshakes: 0 }\n", 1, 35, "`server.max_pending_handshakes` must be a whole number"),
        ("connections:\n  per_ip:\n    max: 2\n    trusted_proxies: [\"127.0.0.1\", \"10.0.0.0/33\"]\n", 4, 36,
         "\"10.0.0.0/33\" in `connections.per_ip.trusted_proxies` is not an IP address or CIDR range"),
        ("connections:\n  per_ip:\n    max: 2\n    trusted_proxies: [proxy.internal]\n", 4, 23, "is not an IP address"),
        ("connections:\n  per_ip: {}\n", 2, 11, "`connections.per_ip` needs `max:`"),
        ("connections:\n  per_ip: { max: 2, trusted_proxy_header: X-Forwarded-For }\n", 2, 43,
         "is believed only from `trusted_proxies`"),
        ("connections:\n  per_ip: { max: 2, trusted_proxy_header: \"X Forwarded\", trusted_proxies: [] }\n", 2, 43,
         "must be a header name"),
        ("connections:\n  per_ip: { rate: { per: 1s } }\n", 2, 19, "`connections.per_ip.rate` needs `connections:`"),
        ("connections:\n  per_ip: { rate: { connections: 1, per: 0s } }\n", 2, 42, "`connections.per_ip.rate.per` must be longer than 0"),
        ("connections:\n  per_ip: { maxx: 2 }\n", 2, 13, "allowed keys: max, rate, trusted_proxy_header, trusted_proxies"),
        ("connections:\n  per_ip: { max: many }\n", 2, 18, "`connections.per_ip.max` must be a whole number"),
    ])
    func errorsNameLineAndColumn(_ body: String, _ line: Int, _ column: Int, _ text: String) {
        // Line 1 is auth, so the body's line numbers are shifted by one.
        let errors = configErrors("auth: {jwt: {secret: s}}\n" + body + "events: {}\n")
        guard let error = errors.first(where: { $0.message.contains(text) }) else {
            Issue.record("no error mentions \(text): \(errors)")
            return
        }
        #expect(error.location == SourceLocation(file: "bad.yaml", line: line + 1, column: column), "\(error)")
    }

    @Test func addressesParseInEveryUsualSpelling() throws {
        #expect(IPAddress("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("2001:db8:0:0::1")?.description == "2001:db8::1")
        #expect(IPAddress("::ffff:192.0.2.1") == IPAddress("192.0.2.1"), "IPv4-mapped IPv6 is the IPv4 address")
        #expect(IPAddress("::1")?.isIPv4 == false)
        for bad in ["", "192.0.2", "192.0.2.256", "example.com", "1.2.3.4:80", "[::1]", "::1%lo"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func rangesContainWhatTheirPrefixSays() throws {
        let ten = try #require(IPAddressRange("10.0.0.0/8"))
        #expect(ten.contains(IPAddress("10.255.1.2")!))
        #expect(!ten.contains(IPAddress("11.0.0.1")!))
        #expect(!ten.contains(IPAddress("::ffff:b00:1")!), "11.0.0.1 written as IPv6")
        #expect(ten.contains(IPAddress("::ffff:10.1.2.3")!), "10.1.2.3 written as IPv6")
        #expect(IPAddressRange("10.1.2.3/8") == ten, "host bits are ignored")
        let ula = try #require(IPAddressRange("fd00::/8"))
        #expect(ula.contains(IPAddress("fd12:3456::1")!))
        #expect(!ula.contains(IPAddress("fe80::1")!))
        #expect(!ula.contains(IPAddress("10.0.0.1")!), "never across families")
        let one = try #require(IPAddressRange("::1"))
        #expect(one.contains(IPAddress("::1")!) && !one.contains(IPAddress("::2")!))
        #expect(IPAddressRange("0.0.0.0/0")?.contains(IPAddress("203.0.113.9")!) == true)
        #expect(IPAddressRange("::/0")?.contains(IPAddress("2001:db8::9")!) == true)
        #expect(IPAddressRange("::ffff:10.0.0.0/104") == ten, "an IPv4-mapped range is the IPv4 range")
        #expect(IPAddressRange("2001:db8::/65")?.contains(IPAddress("2001:db8::8000:0:0:1")!) == false)
        #expect(IPAddressRange("2001:db8::/65")?.contains(IPAddress("2001:db8::7fff:0:0:1")!) == true)
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "fd00::/129", "10.0.0.0/8/8", "10/8", "::ffff:10.0.0.0/95"] {
            #expect(IPAddressRange(bad) == nil, "\(bad)")
        }
    }

    @Test func aRateLimiterSaysWhenItsBucketIsFullAgain() {
        var limiter = RateLimiter(messages: 2, per: .seconds(1), burst: 2)
        let start = ContinuousClock.now
        #expect(limiter.isFull(at: start), "a fresh bucket is full")
        _ = limiter.admit(at: start)
        #expect(!limiter.isFull(at: start))
        #expect(!limiter.isFull(at: start + .milliseconds(400)))
        #expect(limiter.isFull(at: start + .milliseconds(500)), "one token back at 2 per second")
    }
}
