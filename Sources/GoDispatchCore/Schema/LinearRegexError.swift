/// Why a pattern cannot be compiled by ``LinearRegex``; `at` is a 1-based position in Unicode scalars.
enum LinearRegexError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A construct left out on purpose: it needs backtracking or flags.
    case unsupported(Unsupported, at: Int)
    /// `(` without its `)`.
    case unclosedGroup(at: Int)
    /// `)` without its `(`.
    case unmatchedParenthesis(at: Int)
    /// `[` without its `]`.
    case unclosedClass(at: Int)
    /// A quantifier at the start of an alternative, after `^` `$` `\b` `\B`, or after another quantifier.
    case nothingToRepeat(String, at: Int)
    /// `{n,m}` with `n` above `m`.
    case quantifierOutOfOrder(String, at: Int)
    /// `[z-a]`: a range whose end comes before its start.
    case rangeOutOfOrder(String, at: Int)
    /// `[\d-z]`: a class escape used as one end of a range.
    case classEscapeInRange(String, at: Int)
    /// A `\` that ends the pattern.
    case trailingBackslash(at: Int)
    /// An escape the dialect does not define (`\q`, `\x4`, `\u{110000}`, `\B` inside a class).
    case invalidEscape(String, at: Int)
    /// `\uD83D` without its other half: a lone surrogate is not a character, so it could never match.
    case loneSurrogate(String, at: Int)
    /// Groups nested deeper than the limit.
    case nestedTooDeep(limit: Int, at: Int)
    /// The compiled program would need `size` instructions, above `limit` (`Int.max` when it overflows).
    case programTooLarge(size: Int, limit: Int)

    /// A construct that the linear-time engine deliberately does not run.
    enum Unsupported: Equatable, Sendable {
        /// `\1`: matching it needs backtracking.
        case backreference(String)
        /// `\k<name>`: a backreference by name.
        case namedBackreference
        /// `(?=` or `(?!`.
        case lookahead(String)
        /// `(?<=` or `(?<!`.
        case lookbehind(String)
        /// `(?<name>` or `(?P<name>`.
        case namedGroup(String)
        /// `(?i)`, `(?m:`: JSON Schema patterns have no flags.
        case inlineFlags(String)
        /// `\p{…}` and `\P{…}`.
        case unicodeProperty(String)
    }

    /// What is wrong and what to write instead.
    var description: String {
        switch self {
        case .unsupported(let what, let at):
            switch what {
            case .backreference(let text):
                return "backreference `\(text)` at character \(at) is not supported: it needs a backtracking engine,"
                    + " which a client could stall; check equality in a plugin instead"
            case .namedBackreference:
                return "backreference `\\k<…>` at character \(at) is not supported: it needs a backtracking engine,"
                    + " which a client could stall; check equality in a plugin instead"
            case .lookahead(let text):
                return "lookahead `\(text)` at character \(at) is not supported; rewrite the pattern without it"
                    + " (a class such as `[^x]` often does) or combine several schema keywords"
            case .lookbehind(let text):
                return "lookbehind `\(text)` at character \(at) is not supported; rewrite the pattern without it"
            case .namedGroup(let text):
                return
                    "named group `\(text)` at character \(at) is not supported; use `(` or `(?:` (nothing is captured)"
            case .inlineFlags(let text):
                return "inline flags `\(text)` at character \(at) are not supported: patterns have no flags;"
                    + " write both cases in a class such as `[Aa]`"
            case .unicodeProperty(let text):
                return "Unicode property `\(text)` at character \(at) is not supported; list the characters or ranges"
                    + " in a class such as `[\\u0400-\\u04FF]`"
            }
        case .unclosedGroup(let at):
            return "`(` at character \(at) is never closed; add `)` or write `\\(` to match a parenthesis"
        case .unmatchedParenthesis(let at):
            return "`)` at character \(at) has no `(` before it; write `\\)` to match a parenthesis"
        case .unclosedClass(let at):
            return "`[` at character \(at) is never closed; add `]` or write `\\[` to match a bracket"
        case .nothingToRepeat(let quantifier, let at):
            return "`\(quantifier)` at character \(at) has nothing to repeat; write `\\\(quantifier.prefix(1))`"
                + " to match it literally"
        case .quantifierOutOfOrder(let text, let at):
            return "`\(text)` at character \(at) has its minimum above its maximum; write `{min,max}`"
        case .rangeOutOfOrder(let text, let at):
            return "range `\(text)` at character \(at) is out of order; write the lower character first"
        case .classEscapeInRange(let text, let at):
            return "`\(text)` at character \(at) uses a class escape as a range end; put `-` last (`[\\d_-]`)"
                + " or write `\\-`"
        case .trailingBackslash(let at):
            return "`\\` at character \(at) ends the pattern; write `\\\\` to match a backslash"
        case .invalidEscape(let text, let at):
            return "`\(text)` at character \(at) is not an escape of this dialect; known: \\d \\D \\w \\W \\s \\S"
                + " \\b \\B \\n \\r \\t \\f \\v \\0 \\xHH \\uXXXX \\u{X…} \\cX, and `\\` before punctuation"
        case .loneSurrogate(let text, let at):
            return "`\(text)` at character \(at) is half of a UTF-16 surrogate pair and can never match;"
                + " write the pair (`\\uD83D\\uDE00`) or the scalar (`\\u{1F600}`)"
        case .nestedTooDeep(let limit, let at):
            return "groups are nested deeper than \(limit) at character \(at); flatten the pattern"
        case .programTooLarge(let size, let limit):
            let needed = size == .max ? "more than \(limit)" : "\(size)"
            return "the pattern compiles to \(needed) instructions, above the limit of \(limit);"
                + " lower the counts in `{n,m}` or shorten the pattern"
        }
    }
}
