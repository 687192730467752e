#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, held in two words so it hashes and compares without allocating (a per-address
/// table keys on it). An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports for
/// an IPv4 peer) is its IPv4 address, so both spellings count as one client.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The first 8 bytes of an IPv6 address, big-endian; 0 for IPv4.
    let high: UInt64
    /// The last 8 bytes of an IPv6 address, or the IPv4 address in the low 32 bits, big-endian.
    let low: UInt64
    /// True for IPv4.
    public let isIPv4: Bool

    /// The address's bits: 32 for IPv4, 128 for IPv6.
    public var bitWidth: Int { isIPv4 ? 32 : 128 }

    private init(high: UInt64, low: UInt64, isIPv4: Bool) {
        self.high = high
        self.low = low
        self.isIPv4 = isIPv4
    }

    /// Parses dotted IPv4 (`192.0.2.1`) or IPv6 text (`2001:db8::1`, `::ffff:192.0.2.1`); nil for anything
    /// else, host names included.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(high: 0, low: UInt64(UInt32(bigEndian: v4.s_addr)), isIPv4: true)
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let (high, low) = withUnsafeBytes(of: &v6) { raw in
            (raw.loadUnaligned(as: UInt64.self).bigEndian, raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian)
        }
        if high == 0, low >> 32 == 0xFFFF {
            self.init(high: 0, low: low & 0xFFFF_FFFF, isIPv4: true)
        } else {
            self.init(high: high, low: low, isIPv4: false)
        }
    }

    /// The canonical text: dotted IPv4, or compressed IPv6 as `inet_ntop` writes it.
    public var description: String {
        if isIPv4 { return [24, 16, 8, 0].map { String((low >> UInt64($0)) & 0xFF) }.joined(separator: ".") }
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { raw in
            raw.storeBytes(of: high.bigEndian, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &v6, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address with every bit after the first `prefixLength` cleared.
    func masked(to prefixLength: Int) -> IPAddress {
        let shift = bitWidth - prefixLength  // bits to clear, counted from the right
        func keep(_ word: UInt64, clearing bits: Int) -> UInt64 {
            bits <= 0 ? word : bits >= 64 ? 0 : word & ~((1 << UInt64(bits)) - 1)
        }
        if isIPv4 { return IPAddress(high: 0, low: keep(low, clearing: shift), isIPv4: true) }
        return IPAddress(high: keep(high, clearing: shift - 64), low: keep(low, clearing: shift), isIPv4: false)
    }
}

/// A block of addresses written as CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address (`127.0.0.1`, `::1`).
public struct IPAddressRange: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the block.
    public let network: IPAddress
    /// How many leading bits every address of the block shares with ``network``.
    public let prefixLength: Int

    /// Parses `ADDRESS` or `ADDRESS/BITS`; host bits after the prefix are ignored (`10.1.2.3/8` is
    /// `10.0.0.0/8`). Nil when the address does not parse or BITS is out of range for its family.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        var bits = address.bitWidth
        if parts.count == 2 {
            guard let written = Int(parts[1]), parts[1].allSatisfy(\.isNumber) else { return nil }
            // `::ffff:10.0.0.0/104` is written for IPv6 but parsed as IPv4: its prefix loses the 96 mapped bits.
            let mapped = !address.isIPv4 || !parts[0].contains(":") ? 0 : 96
            guard (mapped...(address.bitWidth + mapped)).contains(written) else { return nil }
            bits = written - mapped
        }
        network = address.masked(to: bits)
        prefixLength = bits
    }

    /// True if `address` is in the block (never across families).
    public func contains(_ address: IPAddress) -> Bool {
        address.isIPv4 == network.isIPv4 && address.masked(to: prefixLength) == network
    }

    /// `network/prefixLength`.
    public var description: String { "\(network)/\(prefixLength)" }
}
