/// The accepted API keys. Every check compares with every key in constant time (the time depends on the
/// lengths only, never on where the bytes differ), so a caller cannot guess a key byte by byte.
struct APIKeyRing: Sendable {
    private let keys: [[UInt8]]

    /// The ring of `keys` (from `api.keys`).
    init(_ keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    /// Whether `candidate` is one of the keys.
    func accepts(_ candidate: String?) -> Bool {
        guard let candidate else { return false }
        let bytes = Array(candidate.utf8)
        var matched = false
        for key in keys { matched = Self.constantTimeEqual(key, bytes) || matched }
        return matched
    }

    /// Compares two byte strings in time that depends only on their lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let count = max(a.count, b.count)
        for index in 0..<count {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
