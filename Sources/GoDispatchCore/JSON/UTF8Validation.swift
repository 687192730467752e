/// Well-formed UTF-8 checks, shared by the JSON reader and text-frame validation (RFC 6455 requires
/// UTF-8 text; a violation closes with 1007). The rules live in one place, ``lead(_:)``; the
/// whole-buffer check and the piecewise ``UTF8StreamValidator`` both read them from there.
public enum UTF8Validation {
    /// True if `bytes` are well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8StreamValidator()
        return validator.consume(bytes) && validator.isComplete
    }

    /// What a lead byte allows (RFC 3629 §4): the length of its sequence and the range of the byte right
    /// after it — narrowed to exclude overlongs (E0, F0), surrogates (ED) and values above U+10FFFF (F4).
    /// Every later byte of a sequence is 0x80...0xBF. Nil for ASCII, continuation bytes and C0, C1, F5...FF.
    @inline(__always)
    static func lead(_ byte: UInt8) -> (length: Int, low: UInt8, high: UInt8)? {
        switch byte {
        case 0xC2...0xDF: (2, 0x80, 0xBF)
        case 0xE0: (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (3, 0x80, 0xBF)
        case 0xED: (3, 0x80, 0x9F)
        case 0xF0: (4, 0x90, 0xBF)
        case 0xF1...0xF3: (4, 0x80, 0xBF)
        case 0xF4: (4, 0x80, 0x8F)
        default: nil
        }
    }

    /// The length of the well-formed multi-byte sequence starting at `index`, or nil if it is not one
    /// (including one cut short by the end of `bytes`).
    @inline(__always)
    static func sequenceLength(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int? {
        guard let (length, low, high) = lead(bytes[index]), index + length <= bytes.count,
            bytes[index + 1] >= low, bytes[index + 1] <= high
        else { return nil }
        for k in 2..<length where bytes[index + k] & 0xC0 != 0x80 { return nil }
        return length
    }
}

/// Checks UTF-8 that arrives in pieces — the fragments of a WebSocket text message, or the bytes of one
/// frame as they come off the socket — and says no at the first byte that cannot continue well-formed
/// UTF-8, without waiting for the end. A piece may end inside a character: the validator remembers how
/// many continuation bytes are still owed, and the whole text is valid only if ``isComplete`` at its end.
///
/// Three bytes of state; the rules are ``UTF8Validation``'s.
public struct UTF8StreamValidator: Sendable {
    /// Continuation bytes still owed by a character begun in an earlier piece.
    private var owed: UInt8 = 0
    /// The lowest value the next owed byte may take (above 0x80 only right after E0 or F0).
    private var low: UInt8 = 0x80
    /// The highest value the next owed byte may take (below 0xBF only right after ED or F4).
    private var high: UInt8 = 0xBF

    /// A validator at the start of a text.
    public init() {}

    /// True when no character is left unfinished: a text may end here.
    public var isComplete: Bool { owed == 0 }

    /// Checks the next piece. False as soon as a byte breaks UTF-8; the text is then invalid whatever
    /// follows, and the validator must not be used again.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while owed > 0, i < bytes.count {  // finish the character an earlier piece began
            guard step(bytes[i]) else { return false }
            i += 1
        }
        while i < bytes.count {
            if bytes[i] < 0x80 {
                i += 1
            } else if let length = UTF8Validation.sequenceLength(bytes, at: i) {
                i += length
            } else {
                // Invalid here, or a character cut by the end of the piece: byte by byte tells which.
                while i < bytes.count {
                    guard step(bytes[i]) else { return false }
                    i += 1
                }
            }
        }
        return true
    }

    /// Checks one byte against the state and advances it.
    @inline(__always)
    private mutating func step(_ byte: UInt8) -> Bool {
        if owed > 0 {
            guard byte >= low, byte <= high else { return false }
            owed -= 1
            (low, high) = (0x80, 0xBF)
            return true
        }
        if byte < 0x80 { return true }
        guard let (length, low, high) = UTF8Validation.lead(byte) else { return false }
        (owed, self.low, self.high) = (UInt8(length - 1), low, high)
        return true
    }
}
