// What every fuzz target shares: oracle failures that libFuzzer records as crashes, and a small
// deterministic random source for choices derived from the input.

/// Stops the run: libFuzzer saves the input under the artifact prefix and reports a crash.
public func fuzzFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("fuzz oracle: \(message)", file: file, line: line)
}

/// Fails the run unless `condition` holds.
@inline(__always)
public func fuzzCheck(
    _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
    if !condition { fuzzFail(message(), file: file, line: line) }
}

/// The input as a byte array (libFuzzer passes a nil pointer for the empty input).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The input split at its first NUL byte: the text before it and the bytes after it (nil without one).
public func splitAtNUL(_ bytes: [UInt8]) -> (head: [UInt8], tail: [UInt8]?) {
    guard let nul = bytes.firstIndex(of: 0) else { return (bytes, nil) }
    return (Array(bytes[..<nul]), Array(bytes[(nul + 1)...]))
}

/// SplitMix64: deterministic choices from a seed taken from the input, so a crash reproduces.
public struct SplitMix: RandomNumberGenerator {
    private var state: UInt64

    /// Starts from `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
