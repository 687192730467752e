extension LinearRegex {
    /// A parsed pattern: what the compiler turns into instructions. Groups leave no node (nothing is captured).
    indirect enum Node: Equatable, Sendable {
        /// Matches the empty string.
        case empty
        /// One scalar.
        case scalar(Unicode.Scalar)
        /// One scalar of a class.
        case set(ScalarSet)
        /// A zero-width condition.
        case assertion(Assertion)
        /// Each node in turn; never empty, never holds ``empty``.
        case concatenation([Node])
        /// Any one of the nodes; at least two.
        case alternation([Node])
        /// The node `min` to `max` times (`nil`: no maximum); never of ``empty``, never `{0}` or `{1}`.
        case repetition(Node, min: Int, max: Int?)

        /// A concatenation without the parts that match only the empty string.
        static func sequence(_ nodes: [Node]) -> Node {
            let parts = nodes.filter { $0 != .empty }
            return parts.isEmpty ? .empty : parts.count == 1 ? parts[0] : .concatenation(parts)
        }

        /// `node{min,max}`, simplified so that every repetition emits at least one instruction per copy.
        static func repeating(_ node: Node, min: Int, max: Int?) -> Node {
            if node == .empty || max == 0 { return .empty }
            if min == 1 && max == 1 { return node }
            return .repetition(node, min: min, max: max)
        }
    }

    /// What an escape stands for.
    enum Escaped {
        /// A character.
        case scalar(Unicode.Scalar)
        /// A class: `\d`, `\w`, `\s` and their complements.
        case set(ScalarSet)
        /// `\b` or `\B` outside a class.
        case assertion(Assertion)
    }

    /// A recursive-descent reader of the ECMA-262 subset (with the Annex B leniency that `{` `}` `]` not
    /// forming a quantifier or class are literals), refusing what the engine does not run.
    struct Parser {
        /// The pattern, as Unicode scalars.
        let scalars: [Unicode.Scalar]
        /// The next scalar to read.
        var position = 0
        /// How many groups enclose `position`.
        var depth = 0
        /// The most groups that may enclose one another.
        let maxNestingDepth: Int

        /// Parses a whole pattern.
        static func parse(_ source: String, maxNestingDepth: Int) throws(LinearRegexError) -> Node {
            var parser = Parser(scalars: Array(source.unicodeScalars), maxNestingDepth: maxNestingDepth)
            let node = try parser.disjunction()
            if parser.position < parser.scalars.count { throw .unmatchedParenthesis(at: parser.position + 1) }
            return node
        }

        /// The scalar `offset` places ahead, if any.
        func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            position + offset < scalars.count ? scalars[position + offset] : nil
        }

        /// The pattern text from `start` to the current position and up to `ahead` scalars further, for messages.
        func text(from start: Int, ahead: Int = 0) -> String {
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars[start..<min(position + ahead, scalars.count)])
            return text
        }

        /// `a|b|…`, up to a `)` or the end.
        mutating func disjunction() throws(LinearRegexError) -> Node {
            var alternatives = [try alternative()]
            while peek() == "|" {
                position += 1
                alternatives.append(try alternative())
            }
            return alternatives.count == 1 ? alternatives[0] : .alternation(alternatives)
        }

        /// Terms up to a `|`, a `)` or the end.
        mutating func alternative() throws(LinearRegexError) -> Node {
            var terms: [Node] = []
            while let next = peek(), next != "|", next != ")" { terms.append(try term()) }
            return .sequence(terms)
        }

        /// An assertion, or an atom with an optional quantifier.
        mutating func term() throws(LinearRegexError) -> Node {
            let start = position
            let atom: Node
            var isAssertion = false  // a bare `^` `$` `\b` `\B`; in a group it may be quantified, as in ECMA-262
            switch scalars[position] {
            case "^":
                position += 1
                atom = .assertion(.start)
                isAssertion = true
            case "$":
                position += 1
                atom = .assertion(.end)
                isAssertion = true
            case "(":
                atom = try group()
            case "[":
                atom = .set(try characterClass())
            case ".":
                position += 1
                atom = .set(.dot)
            case "\\":
                switch try escape(inClass: false) {
                case .scalar(let scalar): atom = .scalar(scalar)
                case .set(let set): atom = .set(set)
                case .assertion(let assertion):
                    atom = .assertion(assertion)
                    isAssertion = true
                }
            case "*", "+", "?", "{":
                if let (_, _, text) = try quantifier() { throw .nothingToRepeat(text, at: start + 1) }
                atom = .scalar(scalars[position])  // a `{` that opens no quantifier
                position += 1
            default:
                atom = .scalar(scalars[position])
                position += 1
            }
            let quantifierStart = position
            guard let (min, max, text) = try quantifier() else { return atom }
            if isAssertion { throw .nothingToRepeat(text, at: quantifierStart + 1) }
            if peek() == "?" { position += 1 }  // lazy: the same for a yes/no answer
            return .repeating(atom, min: min, max: max)
        }

        /// `*` `+` `?` `{n}` `{n,}` `{n,m}` at the current position, consumed; nil (nothing consumed) if none.
        mutating func quantifier() throws(LinearRegexError) -> (min: Int, max: Int?, text: String)? {
            let start = position
            switch peek() {
            case "*":
                position += 1
                return (0, nil, "*")
            case "+":
                position += 1
                return (1, nil, "+")
            case "?":
                position += 1
                return (0, 1, "?")
            case "{":
                position += 1
                guard let min = number() else { break }
                var max: Int? = min
                if peek() == "," {
                    position += 1
                    max = number()
                }
                guard peek() == "}" else { break }
                position += 1
                if let max, max < min { throw .quantifierOutOfOrder(text(from: start), at: start + 1) }
                return (min, max, text(from: start))
            default:
                return nil
            }
            position = start
            return nil
        }

        /// Decimal digits, saturating at `Int.max`; nil if there are none.
        mutating func number() -> Int? {
            var value: Int?
            while let digit = peek(), let digitValue = decimalValue(digit) {
                position += 1
                let (shifted, overflow1) = (value ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = shifted.addingReportingOverflow(digitValue)
                value = overflow1 || overflow2 ? .max : sum
            }
            return value
        }

        /// `( … )`, `(?: … )`; refuses lookaround, named groups and flags.
        mutating func group() throws(LinearRegexError) -> Node {
            let start = position
            position += 1
            if peek() == "?" {
                switch (peek(1), peek(2)) {
                case (":", _):
                    position += 2
                case ("=", _), ("!", _):
                    throw .unsupported(.lookahead("(?\(peek(1)!)"), at: start + 1)
                case ("<", "="), ("<", "!"):
                    throw .unsupported(.lookbehind("(?<\(peek(2)!)"), at: start + 1)
                case ("<", _), ("P", "<"):
                    throw .unsupported(.namedGroup(peek(1) == "P" ? "(?P<" : "(?<"), at: start + 1)
                case (let flag?, _) where flag.properties.isAlphabetic || flag == "-":
                    throw .unsupported(.inlineFlags("(?\(flag)"), at: start + 1)
                default:
                    throw .nothingToRepeat("?", at: start + 2)
                }
            }
            depth += 1
            guard depth <= maxNestingDepth else { throw .nestedTooDeep(limit: maxNestingDepth, at: start + 1) }
            let inner = try disjunction()
            guard peek() == ")" else { throw .unclosedGroup(at: start + 1) }
            position += 1
            depth -= 1
            return inner
        }

        /// `[…]` or `[^…]`; `[]` matches nothing and `[^]` anything, as in ECMA-262.
        mutating func characterClass() throws(LinearRegexError) -> ScalarSet {
            let start = position
            position += 1
            let negated = peek() == "^"
            if negated { position += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            while true {
                guard let next = peek() else { throw .unclosedClass(at: start + 1) }
                if next == "]" {
                    position += 1
                    break
                }
                let rangeStart = position
                let first = try classAtom()
                guard peek() == "-", let end = peek(1), end != "]" else {
                    switch first {
                    case .scalar(let scalar): ranges.append(scalar.value...scalar.value)
                    case .set(let set): ranges += set.ranges
                    case .assertion: break  // classAtom never returns one
                    }
                    continue
                }
                position += 1
                let second = try classAtom()
                guard case .scalar(let low) = first, case .scalar(let high) = second else {
                    throw .classEscapeInRange(text(from: rangeStart), at: rangeStart + 1)
                }
                guard low <= high else { throw .rangeOutOfOrder(text(from: rangeStart), at: rangeStart + 1) }
                ranges.append(low.value...high.value)
            }
            let set = ScalarSet(ranges)
            return negated ? set.inverted : set
        }

        /// One character or class escape inside `[…]`.
        mutating func classAtom() throws(LinearRegexError) -> Escaped {
            if peek() == "\\" { return try escape(inClass: true) }
            defer { position += 1 }
            return .scalar(scalars[position])
        }

        /// The escape starting at the `\` under the current position.
        mutating func escape(inClass: Bool) throws(LinearRegexError) -> Escaped {
            let start = position
            position += 1
            guard let letter = peek() else { throw .trailingBackslash(at: start + 1) }
            position += 1
            switch letter {
            case "d": return .set(.digits)
            case "D": return .set(ScalarSet.digits.inverted)
            case "w": return .set(.word)
            case "W": return .set(ScalarSet.word.inverted)
            case "s": return .set(.whitespace)
            case "S": return .set(ScalarSet.whitespace.inverted)
            case "b": return inClass ? .scalar("\u{08}") : .assertion(.wordBoundary)
            case "B" where !inClass: return .assertion(.notWordBoundary)
            case "n": return .scalar("\n")
            case "r": return .scalar("\r")
            case "t": return .scalar("\t")
            case "f": return .scalar("\u{0C}")
            case "v": return .scalar("\u{0B}")
            case "0" where peek().flatMap(decimalValue) == nil: return .scalar("\u{00}")
            case "1"..."9" where !inClass:
                while let digit = peek(), decimalValue(digit) != nil { position += 1 }
                throw .unsupported(.backreference(text(from: start)), at: start + 1)
            case "k" where !inClass:
                throw .unsupported(.namedBackreference, at: start + 1)
            case "p", "P":
                if peek() == "{" {
                    while let next = peek(), next != "}" { position += 1 }
                    if peek() == "}" { position += 1 }
                }
                throw .unsupported(.unicodeProperty(text(from: start)), at: start + 1)
            case "x":
                guard let value = hex(count: 2) else {
                    throw .invalidEscape(text(from: start, ahead: 2), at: start + 1)
                }
                return .scalar(Unicode.Scalar(UInt8(value)))
            case "u":
                return .scalar(try unicodeEscape(start: start))
            case "c":
                guard let control = peek(), control.isASCII, control.properties.isAlphabetic else {
                    throw .invalidEscape(text(from: start, ahead: 1), at: start + 1)
                }
                position += 1
                return .scalar(Unicode.Scalar(UInt8(control.value % 32)))
            case _ where letter.isASCII && (letter.properties.isAlphabetic || decimalValue(letter) != nil):
                throw .invalidEscape(text(from: start), at: start + 1)
            case _ where !letter.isASCII:
                throw .invalidEscape(text(from: start), at: start + 1)
            default:
                return .scalar(letter)  // `\.` `\\` `\/` `\-` …: punctuation stands for itself
            }
        }

        /// The rest of `\uXXXX` (joining a surrogate pair written as two escapes) or `\u{X…}`.
        mutating func unicodeEscape(start: Int) throws(LinearRegexError) -> Unicode.Scalar {
            if peek() == "{" {
                position += 1
                var value: UInt32 = 0
                var digits = 0
                while let digit = peek(), let nibble = hexValue(digit) {
                    position += 1
                    digits += 1
                    value = value > ScalarSet.maxValue ? value : value * 16 + nibble  // stays out of range, no overflow
                }
                guard digits > 0, peek() == "}" else {
                    throw .invalidEscape(text(from: start, ahead: 1), at: start + 1)
                }
                position += 1
                guard value <= ScalarSet.maxValue else { throw .invalidEscape(text(from: start), at: start + 1) }
                guard let scalar = Unicode.Scalar(value) else { throw .loneSurrogate(text(from: start), at: start + 1) }
                return scalar
            }
            guard let high = hex(count: 4) else { throw .invalidEscape(text(from: start, ahead: 4), at: start + 1) }
            if let scalar = Unicode.Scalar(high) { return scalar }
            if (0xD800...0xDBFF).contains(high), peek() == "\\", peek(1) == "u" {
                let resume = position
                position += 2
                if let low = hex(count: 4), (0xDC00...0xDFFF).contains(low),
                    let scalar = Unicode.Scalar(0x10000 + (high - 0xD800) << 10 + (low - 0xDC00))
                {
                    return scalar
                }
                position = resume
            }
            throw .loneSurrogate(text(from: start), at: start + 1)
        }

        /// Exactly `count` hex digits, consumed; nil (nothing consumed) if fewer.
        mutating func hex(count: Int) -> UInt32? {
            var value: UInt32 = 0
            for offset in 0..<count {
                guard let digit = peek(offset), let nibble = hexValue(digit) else { return nil }
                value = value * 16 + nibble
            }
            position += count
            return value
        }

        /// The value of one ASCII decimal digit.
        func decimalValue(_ digit: Unicode.Scalar) -> Int? {
            digit.value >= 0x30 && digit.value <= 0x39 ? Int(digit.value) - 0x30 : nil
        }

        /// The value of one ASCII hex digit.
        func hexValue(_ digit: Unicode.Scalar) -> UInt32? {
            switch digit {
            case "0"..."9": return digit.value - 0x30
            case "a"..."f": return digit.value - 0x61 + 10
            case "A"..."F": return digit.value - 0x41 + 10
            default: return nil
            }
        }
    }
}
