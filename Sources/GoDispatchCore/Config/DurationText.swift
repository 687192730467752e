/// Durations as written in the configuration: `500ms`, `5s`, `2m`, `1h`, or a plain number of seconds.
///
/// The one place a configured duration is converted: the value is checked to be finite, not negative
/// and at most ``maximum``, so every later conversion (to NIO's nanoseconds, to deadlines) fits.
enum DurationText {
    /// The longest duration accepted: 100 years, far below what 64-bit nanoseconds (about 292 years)
    /// hold, so a deadline "now + duration" cannot overflow either.
    static let maximum: Duration = .seconds(100 * 365 * 24 * 3600)

    /// Why a text is not a duration.
    enum Problem: Error, Equatable {
        /// Not a number with a known unit.
        case malformed
        /// Longer than ``maximum``.
        case tooLong
    }

    /// Parses a duration.
    static func parse(_ text: String) throws(Problem) -> Duration {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        let (number, scale) =
            units.first { text.hasSuffix($0.suffix) }.map { (Double(text.dropLast($0.suffix.count)), $0.milliseconds) }
            ?? (Double(text), 1000)
        guard let number, number >= 0, number.isFinite else { throw .malformed }
        let milliseconds = (number * scale).rounded()
        let maximumMilliseconds = Double(maximum.components.seconds) * 1000
        guard milliseconds <= maximumMilliseconds else { throw .tooLong }
        return .milliseconds(Int64(milliseconds))
    }
}

extension Duration {
    /// Whole nanoseconds. Every duration the engine schedules comes from the configuration (at most
    /// ``DurationText/maximum``) or from code, so this fits in 64 bits; a larger value saturates.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (sum, overflowSum) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowSum ? .max : sum
    }
}
