import GoDispatchCore
import NIOHTTP1
import Testing

@testable import GoDispatchServer

private func address(_ text: String) -> IPAddress { IPAddress(text)! }

@Suite("Per-address limits as values: the table and the client address")
struct PerIPLimitTests {
    @Test func maxCapsOpenConnectionsAndAReleaseFreesAPlace() {
        var table = PerIPTable(max: 2, rate: nil)
        let now = ContinuousClock.now
        let alice = address("192.0.2.1")
        #expect(table.admit(alice, at: now) == .admit)
        #expect(table.admit(alice, at: now) == .admit)
        #expect(table.admit(alice, at: now) == .tooManyOpen)
        #expect(table.admit(address("192.0.2.2"), at: now) == .admit, "another address has its own count")
        table.release(alice, at: now)
        #expect(table.admit(alice, at: now) == .admit)
    }

    @Test func rateCountsAttemptsEvenThoseMaxRefuses() {
        var table = PerIPTable(max: 1, rate: ConnectionRateSettings(connections: 1, per: .seconds(1), burst: 2))
        let now = ContinuousClock.now
        let bob = address("2001:db8::7")
        #expect(table.admit(bob, at: now) == .admit)
        #expect(table.admit(bob, at: now) == .tooManyOpen, "spends the second token")
        #expect(table.admit(bob, at: now) == .tooFast)
        #expect(table.admit(bob, at: now + .seconds(1)) == .tooManyOpen, "a token came back; still one open")
    }

    @Test func memoryIsBoundedByTheAddressesInUse() {
        var table = PerIPTable(max: 5, rate: ConnectionRateSettings(connections: 10, per: .seconds(1), burst: 10))
        let start = ContinuousClock.now
        for i in 0..<1000 {
            let client = address("10.0.\(i / 256).\(i % 256)")
            #expect(table.admit(client, at: start) == .admit)
            table.release(client, at: start)
        }
        let holder = address("198.51.100.1")
        #expect(table.admit(holder, at: start) == .admit)
        #expect(table.entries.count == 1001, "buckets still refilling are remembered")
        // Once their buckets are full again, the next attempt sweeps them away; an open connection stays.
        #expect(table.admit(address("198.51.100.2"), at: start + .seconds(2)) == .admit)
        #expect(table.entries.count == 2)
        #expect(table.entries[holder]?.open == 1)

        var maxOnly = PerIPTable(max: 3, rate: nil)
        maxOnly.release(holder, at: start)  // releasing what was never admitted does nothing
        #expect(maxOnly.admit(holder, at: start) == .admit)
        maxOnly.release(holder, at: start)
        #expect(maxOnly.entries.isEmpty, "without a rate, the last release forgets the address")
    }

    @Test func theForwardedAddressCountsOnlyFromATrustedPeer() {
        let resolver = ClientAddressResolver(
            header: "X-Forwarded-For", trustedProxies: ["127.0.0.1", "10.0.0.0/8", "fd00::/8"].map { IPAddressRange($0)! })
        func client(_ peer: String, _ forwarded: [String]) -> String {
            var headers = HTTPHeaders()
            for value in forwarded { headers.add(name: "x-forwarded-for", value: value) }
            return resolver.clientAddress(peer: address(peer), headers: headers).description
        }
        #expect(client("203.0.113.9", ["198.51.100.1"]) == "203.0.113.9", "an untrusted peer's header is ignored")
        #expect(client("127.0.0.1", ["198.51.100.1"]) == "198.51.100.1")
        #expect(client("127.0.0.1", []) == "127.0.0.1", "no header: the proxy itself")
        // The right-most untrusted entry: what the client wrote to the left of it proves nothing.
        #expect(client("127.0.0.1", ["6.6.6.6, 198.51.100.1, 10.1.2.3"]) == "198.51.100.1")
        #expect(client("127.0.0.1", ["6.6.6.6", "198.51.100.1", "10.1.2.3"]) == "198.51.100.1", "across header lines")
        #expect(client("::ffff:127.0.0.1", ["198.51.100.1:4711"]) == "198.51.100.1", "mapped peer; a port")
        #expect(client("fd00::1", ["[2001:db8::5]:443"]) == "2001:db8::5")
        #expect(client("127.0.0.1", ["10.0.0.1, 10.0.0.2"]) == "10.0.0.1", "all trusted: the left-most")
        #expect(client("127.0.0.1", ["198.51.100.1, unknown, 10.0.0.2"]) == "10.0.0.2", "garbage: the last trusted hop")
    }
}
