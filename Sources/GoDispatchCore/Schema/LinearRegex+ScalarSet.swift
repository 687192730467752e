extension LinearRegex {
    /// A set of Unicode scalars as sorted, disjoint, non-adjacent ranges: a class, `.`, `\d`, `\w`, `\s`.
    struct ScalarSet: Hashable, Sendable {
        /// The ranges of scalar values, sorted and merged.
        private(set) var ranges: [ClosedRange<UInt32>]

        /// The set of the values in `ranges`, which may overlap and come in any order.
        init(_ ranges: [ClosedRange<UInt32>]) {
            var merged: [ClosedRange<UInt32>] = []
            for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                    merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
                } else {
                    merged.append(range)
                }
            }
            self.ranges = merged
        }

        /// The largest scalar value.
        static let maxValue: UInt32 = 0x10FFFF
        /// `\d`: ASCII digits only, as in ECMA-262.
        static let digits = ScalarSet([0x30...0x39])
        /// `\w`: ASCII letters, digits and `_`, as in ECMA-262 without the `i` flag.
        static let word = ScalarSet([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
        /// `\s`: ECMA-262 WhiteSpace and LineTerminator.
        static let whitespace = ScalarSet([
            0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029,
            0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
        ])
        /// ECMA-262 line terminators, which `.` does not match.
        static let lineTerminators = ScalarSet([0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029])
        /// `.`: anything but a line terminator.
        static let dot = lineTerminators.inverted

        /// Every scalar not in this set.
        var inverted: ScalarSet {
            var result: [ClosedRange<UInt32>] = []
            var next: UInt32 = 0
            for range in ranges {
                if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
                next = range.upperBound + 1
            }
            if next <= Self.maxValue { result.append(next...Self.maxValue) }
            return ScalarSet(result)
        }

        /// The scalars in either set.
        func union(_ other: ScalarSet) -> ScalarSet { ScalarSet(ranges + other.ranges) }

        /// The only scalar in the set, if it has exactly one.
        var single: Unicode.Scalar? {
            guard ranges.count == 1, ranges[0].lowerBound == ranges[0].upperBound else { return nil }
            return Unicode.Scalar(ranges[0].lowerBound)
        }

        /// Whether `scalar` is in the set: a binary search over the ranges.
        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            var low = 0
            var high = ranges.count
            while low < high {
                let middle = (low + high) / 2
                let range = ranges[middle]
                if value < range.lowerBound {
                    high = middle
                } else if value > range.upperBound {
                    low = middle + 1
                } else {
                    return true
                }
            }
            return false
        }
    }
}
