import Testing

@testable import GoDispatchCore

@Suite("Linear-time regular expressions")
struct LinearRegexTests {
    /// (pattern, text, whether the text contains a match): every feature of the dialect, searched.
    static let cases: [(String, String, Bool)] = [
        // Literals, the empty pattern, and search (not anchored) semantics.
        ("abc", "xabcx", true), ("abc", "abd", false), ("", "", true), ("", "x", true), ("b", "abc", true),
        ("café", "un café", true), ("日本", "日本語", true),
        // `.`: any scalar but a line terminator.
        ("a.c", "abc", true), ("a.c", "a\nc", false), ("a.c", "a\rc", false), ("a.c", "a\u{2028}c", false),
        ("a.c", "a\u{2029}c", false), ("^.$", "é", true), ("^.$", "e\u{301}", false), ("^..$", "e\u{301}", true),
        ("^.$", "😀", true), ("^.{3}$", "日本語", true), ("^.$", "\u{85}", true), ("^.$", "\u{0B}", true),
        // Escapes.
        (#"\."#, "a", false), (#"\."#, ".", true), (#"\\"#, "\\", true), (#"\/"#, "/", true), (#"a\nb"#, "a\nb", true),
        (#"\t"#, "\t", true), (#"\r"#, "\r", true), (#"\f"#, "\u{0C}", true), (#"\v"#, "\u{0B}", true),
        (#"a\0"#, "a\u{0}", true), (#"\u0041"#, "A", true), (#"\u00e9"#, "é", true), (#"\u00E9"#, "e\u{301}", false),
        (#"\uD83D\uDE00"#, "😀", true), (#"\u{1F600}"#, "😀", true), (#"\x41"#, "A", true), (#"\cJ"#, "\n", true),
        (#"\$\^"#, "$^", true), (#"\(\)"#, "()", true), (#"\[\]"#, "[]", true), (#"\{\}"#, "{}", true),
        (#"\*\+\?"#, "*+?", true), (#"\|"#, "|", true), (#"\-"#, "-", true), (#"\@"#, "@", true),
        // Classes.
        ("^[abc]+$", "abcabc", true), ("^[abc]+$", "abd", false), ("[^a-z]", "abc", false), ("[^a-z]", "abC", true),
        (#"^[\d_-]+$"#, "1_-2", true), (#"^[\d_-]+$"#, "1_-a", false), ("[a-]", "-", true), ("[-a]", "-", true),
        (#"[\]]"#, "]", true), (#"[\\]"#, "\\", true), ("[.]", "a", false), ("[.]", ".", true),
        (#"[\b]"#, "\u{08}", true),
        (#"[\w]"#, "_", true), (#"[\W]"#, "a", false), (#"[\s]"#, " ", true), (#"[\S]"#, " ", false),
        (#"[\D]"#, "5", false), (#"^[^\d]+$"#, "abc", true), (#"[\u0041-\u005A]"#, "Q", true), ("[α-ω]", "λ", true),
        ("[😀-😂]", "😁", true), ("[😀-😂]", "😃", false), ("[$^]", "^", true), ("[]", "a", false), ("[^]", "\n", true),
        ("[^]", "", false), ("[[]", "[", true), ("a]", "a]", true), ("x{", "x{", true), ("x}", "x}", true),
        ("a{,3}", "a{,3}", true), ("a{,3}", "aa", false), ("a{x}", "a{x}", true),
        // Shorthands: ASCII digits and word characters, ECMA-262 whitespace.
        (#"\d"#, "x5", true), (#"\d"#, "٣", false), (#"\D"#, "123", false), (#"\w"#, "é", false),
        (#"^\w+$"#, "snake_case9", true), (#"\W"#, "abc", false), (#"\s"#, "a b", true), (#"\s"#, "\u{A0}", true),
        (#"\s"#, "\u{3000}", true), (#"\s"#, "\u{FEFF}", true), (#"\s"#, "\u{85}", false), (#"\S"#, "   ", false),
        // Anchors and word boundaries.
        ("^abc", "abcd", true), ("^abc", "xabc", false), ("abc$", "xabc", true), ("abc$", "abc\n", false),
        ("^$", "", true), ("^$", "x", false), ("^a|b$", "xb", true), ("a^b", "ab", false), ("a$b", "ab", false),
        (#"\bfoo\b"#, "a foo.", true), (#"\bfoo\b"#, "afoo", false), (#"\Bfoo"#, "afoo", true), (#"\B"#, "", true),
        (#"\b"#, "", false), (#"\b"#, "é", false), (#"^\b"#, "a", true),
        // Groups.
        ("^(ab)+$", "ababab", true), ("^(ab)+$", "ababa", false), ("^(?:ab)+$", "abab", true),
        ("^(a(b(c)))$", "abc", true), ("()", "x", true), ("^(|a)$", "a", true), ("^(?:)$", "", true),
        // Alternation.
        ("cat|dog", "hotdog", true), ("cat|dog", "cow", false), ("^(cat|dog)$", "catdog", false),
        ("^(a|ab)(c|bcd)$", "abcd", true), ("a|", "zzz", true), ("|", "", true), ("^(a|b|c|d)+$", "abcdx", false),
        // A group holding only an assertion may be quantified (a bare assertion may not).
        ("(?:^)?a", "ba", true), ("(?:^)+a", "ba", false), (#"(\b)+a"#, "a", true), ("x(?:$){2}", "ax", true),
        // Quantifiers, greedy and lazy.
        ("^a*$", "", true), ("^a*$", "aaa", true), ("^a*$", "aab", false), ("^a+$", "", false), ("^ab?c$", "ac", true),
        ("^ab?c$", "abbc", false), ("^a{3}$", "aaa", true), ("^a{3}$", "aa", false), ("^a{2,}$", "aaaaa", true),
        ("^a{2,}$", "a", false), ("^a{2,3}$", "aaaa", false), ("^a{2,3}$", "aaa", true), ("^a{0}$", "", true),
        ("^a{0}b$", "b", true), ("^a{1}$", "a", true), ("^(ab){2}$", "abab", true), ("^a*?$", "aa", true),
        ("^a+?b$", "aab", true), ("^a??b$", "b", true), ("^a{2,3}?$", "aa", true), ("^a{2,}?$", "aaa", true),
        ("^(a*)*$", "aaa", true), ("^(a*)+b$", "aab", true), ("^(a|b)*c$", "ababc", true),
        ("^(a?){3}a{3}$", "aaa", true),
        ("^(a?){3}a{3}$", "aa", false), ("^(?:a|b?)+$", "abba", true), ("^(?:a{2})*$", "aaa", false),
        // Patterns from real schemas.
        (#"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"#, "ada@example.org", true),
        (#"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"#, "ada@org", false),
        (#"^\+?[0-9]{7,15}$"#, "+4915112345678", true), (#"^\+?[0-9]{7,15}$"#, "12-34", false),
        (
            "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "123e4567-e89b-12d3-a456-426614174000",
            true
        ),
        (
            "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "123e4567-e89b-12d3-a456-42661417400",
            false
        ),
        ("^[a-z0-9]+(?:-[a-z0-9]+)*$", "my-room-2", true), ("^[a-z0-9]+(?:-[a-z0-9]+)*$", "my--room", false),
        ("^#(?:[0-9a-fA-F]{3}){1,2}$", "#C0ffee", true), ("^#(?:[0-9a-fA-F]{3}){1,2}$", "#C0ffe", false),
        (#"^\d{4}-\d{2}-\d{2}$"#, "2024-02-29", true), (#"^\d{4}-\d{2}-\d{2}$"#, "2024-2-29", false),
    ]

    /// Patterns whose ECMA-262 reading differs from Swift's `Regex` (which reads `[]`, `{,n}`, `\cX`, `\uD83D`
    /// differently, and has its own `.` and `\s`), so the cross-check leaves those cases out.
    static let ecmaOnly: Set<String> = [
        "[]", "[^]", "[[]", "a{,3}", #"\cJ"#, #"\uD83D\uDE00"#, #"\u{1F600}"#, #"\s"#, "^.$", #"[\b]"#, "a{x}",
    ]

    /// Patterns that read the same in ECMA-262 and Swift's `Regex`, each tried on every one of ``inputs``.
    static let crossPatterns = [
        "a", "ab", "^a", "a$", "^a$", "^$", ".", "^.+$", "a.b", "[ab]", "[^ab]", "^[a-c]+$", #"\d"#, #"\D"#, #"\w+"#,
        #"^\W"#, #"\s"#, #"^\S+$"#, "a*", "^a*$", "^a+$", "^a?$", "^a{2}$", "^a{1,2}b", "^a{2,}$", "^(ab)*$",
        "^(?:a|b)+$", "a|b", "^(a|ab)+$", "^(a|aa)*b", "(a+)+$", "^(a*)*$", #"\bab"#, #"b\b"#, #"\Ba"#, "a+?b",
        "^[a-z][a-z0-9_-]*$", "^x", "é|😀", "^.{2}$", #"\n"#,
        #"[\d\s]"#, "^(?:[ab]{2})+$", "b+$", "^(a|b)*?a$",
    ]

    /// Inputs for ``crossPatterns``: empty, short, repeated, with spaces, newlines and non-ASCII scalars.
    static let inputs = [
        "", "a", "aa", "aaa", "ab", "abc", "aab", "b", "ba", "abab", "a b", "A1_", "x-y", "12", "a.b", "\n", "a\nb",
        "é", "😀", "  ", "abcabc", "aaaa!", "bab", "ab_c", "Zz9",
    ]

    /// A hostile input: 64 KiB of `a` and a `!` that makes every pattern below fail at the very end.
    static let hostileText = String(repeating: "a", count: 65_536) + "!"

    /// Patterns that take a backtracking engine exponential (or high polynomial) time on ``hostileText``.
    static let hostilePatterns: [(String, Bool)] = [
        ("^(a+)+$", false), ("(a|aa)*b", false), ("(.*a){20}", true), ("^(.*a){20}$", false), ("(a*)*b", false),
        (#"^(\w+\s?)+$"#, false), ("(x+x+)+y", false), ("^(a|a?)+$", false), ("^(a?){30}a{30}$", false),
    ]

    /// Checks the result and the step bound of one search.
    func check(_ pattern: String, _ text: String, _ expected: Bool) throws {
        let regex = try LinearRegex(pattern)
        let (matched, steps) = regex.match(text)
        #expect(matched == expected, "\(pattern) on \(text.debugDescription)")
        #expect(steps <= regex.programSize * (text.unicodeScalars.count + 1), "\(pattern): \(steps) steps")
    }

    /// Swift's `Regex` configured to read like ECMA-262: scalars, ASCII `\d` and `\w`, simple `\b`.
    func swiftMatches(_ pattern: String, _ text: String) throws -> Bool {
        let regex = try Regex(pattern).matchingSemantics(.unicodeScalar).asciiOnlyDigits().asciiOnlyWordCharacters()
            .wordBoundaryKind(.simple)
        return try regex.firstMatch(in: text) != nil
    }

    @Test("each feature matches as in ECMA-262", arguments: cases)
    func matchesLikeECMA262(_ pattern: String, _ text: String, _ expected: Bool) throws {
        try check(pattern, text, expected)
    }

    @Test("agrees with Swift's Regex on each case", arguments: cases.filter { !ecmaOnly.contains($0.0) })
    func agreesWithSwiftRegexOnCases(_ pattern: String, _ text: String, _ expected: Bool) throws {
        #expect(
            try LinearRegex(pattern).matches(text) == swiftMatches(pattern, text),
            "\(pattern) on \(text.debugDescription)")
    }

    @Test("agrees with Swift's Regex on every input", arguments: crossPatterns)
    func agreesWithSwiftRegexOnEveryInput(_ pattern: String) throws {
        let regex = try LinearRegex(pattern)
        for text in Self.inputs {
            let (matched, steps) = regex.match(text)
            #expect(try matched == swiftMatches(pattern, text), "\(pattern) on \(text.debugDescription)")
            #expect(steps <= regex.programSize * (text.unicodeScalars.count + 1))
        }
    }

    @Test("hostile patterns finish in bounded steps", arguments: hostilePatterns)
    func hostilePatternsTakeBoundedSteps(_ pattern: String, _ expected: Bool) throws {
        try check(pattern, Self.hostileText, expected)
    }

    @Test func anAnchoredSearchStopsWhenEveryThreadDies() throws {
        let regex = try LinearRegex("^[a-z]+$")
        let (matched, steps) = regex.match("1" + Self.hostileText)
        #expect(!matched)
        #expect(steps <= regex.programSize)
    }

    @Test(arguments: [
        (#"(a)\1"#, LinearRegexError.unsupported(.backreference(#"\1"#), at: 4)),
        (#"\k<x>"#, .unsupported(.namedBackreference, at: 1)),
        ("a(?=b)", .unsupported(.lookahead("(?="), at: 2)),
        ("a(?!b)", .unsupported(.lookahead("(?!"), at: 2)),
        ("(?<=a)b", .unsupported(.lookbehind("(?<="), at: 1)),
        ("(?<!a)b", .unsupported(.lookbehind("(?<!"), at: 1)),
        (#"(?<year>\d{4})"#, .unsupported(.namedGroup("(?<"), at: 1)),
        ("(?P<x>a)", .unsupported(.namedGroup("(?P<"), at: 1)),
        ("(?i)abc", .unsupported(.inlineFlags("(?i"), at: 1)),
        ("x(?-m:abc)", .unsupported(.inlineFlags("(?-"), at: 2)),
        (#"\p{L}"#, .unsupported(.unicodeProperty(#"\p{L}"#), at: 1)),
        ("(abc", .unclosedGroup(at: 1)),
        ("a(b(c)", .unclosedGroup(at: 2)),
        ("abc)", .unmatchedParenthesis(at: 4)),
        ("[abc", .unclosedClass(at: 1)),
        ("*a", .nothingToRepeat("*", at: 1)),
        ("a**", .nothingToRepeat("*", at: 3)),
        ("a*+", .nothingToRepeat("+", at: 3)),
        ("a|+", .nothingToRepeat("+", at: 3)),
        ("(?)", .nothingToRepeat("?", at: 2)),
        ("^*", .nothingToRepeat("*", at: 2)),
        (#"\b+"#, .nothingToRepeat("+", at: 3)),
        ("a{2}{3}", .nothingToRepeat("{3}", at: 5)),
        ("{2}", .nothingToRepeat("{2}", at: 1)),
        ("a{3,1}", .quantifierOutOfOrder("{3,1}", at: 2)),
        ("[z-a]", .rangeOutOfOrder("z-a", at: 2)),
        (#"[\d-z]"#, .classEscapeInRange(#"\d-z"#, at: 2)),
        (#"abc\"#, .trailingBackslash(at: 4)),
        (#"\q"#, .invalidEscape(#"\q"#, at: 1)),
        (#"\x4"#, .invalidEscape(#"\x4"#, at: 1)),
        (#"\u12"#, .invalidEscape(#"\u12"#, at: 1)),
        (#"\u{12"#, .invalidEscape(#"\u{12"#, at: 1)),
        (#"\c1"#, .invalidEscape(#"\c1"#, at: 1)),
        (#"\u{110000}"#, .invalidEscape(#"\u{110000}"#, at: 1)),
        (#"[\B]"#, .invalidEscape(#"\B"#, at: 2)),
        (#"\é"#, .invalidEscape(#"\é"#, at: 1)),
        (#"\uD83D"#, .loneSurrogate(#"\uD83D"#, at: 1)),
        (#"\u{DC00}"#, .loneSurrogate(#"\u{DC00}"#, at: 1)),
        ("a{0,100000}", .programTooLarge(size: 200_001, limit: 10_000)),
        ("a{99999999999999999999}", .programTooLarge(size: .max, limit: 10_000)),
        ("(?:a{100}){100}", .programTooLarge(size: 10_001, limit: 10_000)),
        ("[a-z]{1,5001}", .programTooLarge(size: 10_002, limit: 10_000)),
        (String(repeating: "(", count: 101) + String(repeating: ")", count: 101), .nestedTooDeep(limit: 100, at: 101)),
    ])
    func unsupportedOrMalformedPatternsAreRefused(_ pattern: String, _ expected: LinearRegexError) {
        #expect(throws: expected) { try LinearRegex(pattern) }
        #expect(!expected.description.isEmpty)
    }

    @Test func refusalsSayWhereAndWhatToWriteInstead() {
        let messages: [(LinearRegexError, String)] = [
            (.unsupported(.lookahead("(?="), at: 2), "lookahead `(?=` at character 2 is not supported"),
            (.unsupported(.backreference(#"\1"#), at: 4), "needs a backtracking engine"),
            (.unsupported(.namedGroup("(?<"), at: 1), "use `(` or `(?:`"),
            (.unsupported(.inlineFlags("(?i"), at: 1), "`[Aa]`"),
            (.nothingToRepeat("*", at: 1), #"write `\*` to match it literally"#),
            (.unclosedGroup(at: 3), "`(` at character 3 is never closed"),
            (.programTooLarge(size: 200_001, limit: 10_000), "200001 instructions, above the limit of 10000"),
            (.programTooLarge(size: .max, limit: 10_000), "more than 10000 instructions"),
        ]
        for (error, text) in messages { #expect(error.description.contains(text), "\(error.description)") }
    }

    @Test func theProgramSizeLimitIsExactAndAnInitParameter() throws {
        #expect(try LinearRegex("[a-z]{1,5000}").programSize == LinearRegex.defaultMaxProgramSize)
        #expect(try LinearRegex("a{5}", maxProgramSize: 6).programSize == 6)
        #expect(throws: LinearRegexError.programTooLarge(size: 6, limit: 5)) {
            try LinearRegex("a{5}", maxProgramSize: 5)
        }
        #expect(try LinearRegex("(?:a{9}){1000}", maxProgramSize: 9_001).programSize == 9_001)
        // Repeating what matches only the empty string emits nothing, whatever the count.
        #expect(try LinearRegex("(?:){1000000000}").programSize == 1)
        #expect(
            try LinearRegex(String(repeating: "(", count: 100) + "a" + String(repeating: ")", count: 100)).matches("a"))
        #expect(throws: LinearRegexError.nestedTooDeep(limit: 3, at: 4)) {
            try LinearRegex("((((a))))", maxNestingDepth: 3)
        }
    }

    @Test func quantifiersCompileToThompsonFragments() throws {
        typealias I = LinearRegex.Instruction
        #expect(try LinearRegex("a*").program.instructions == [I.split(1, 3), .scalar("a"), .jump(0), .match])
        #expect(try LinearRegex("a+").program.instructions == [I.scalar("a"), .split(0, 2), .match])
        #expect(
            try LinearRegex("a{1,3}").program.instructions == [
                I.scalar("a"), .split(2, 5), .scalar("a"), .split(4, 5), .scalar("a"), .match,
            ])
        #expect(
            try LinearRegex("a|b").program.instructions == [
                I.split(1, 3), .scalar("a"), .jump(4), .scalar("b"), .match,
            ])
        #expect(try LinearRegex("[x]").program.instructions == [I.scalar("x"), .match])
        #expect(try LinearRegex("[a-z]{3}").program.sets.count == 1)
    }
}
