/// A regular expression in the JSON Schema `pattern` dialect, searched in time linear in its input.
///
/// `pattern` runs on a connection's event loop for every message, against text a client chose, so a
/// backtracking engine (Swift's `Regex`) lets one message stall the loop: `^(a+)+$` against 64 KiB of `a`
/// followed by `!` takes exponential time. This engine compiles the pattern into a Thompson NFA and runs
/// every alternative in lock step (a Pike VM without captures), so a search costs at most
/// `programSize × (input scalars + 1)` steps, whatever the pattern and the input.
///
/// The dialect is the ECMA-262 subset that JSON Schema recommends, read over Unicode scalars:
/// literals; escapes `\.` `\\` `\/` (any ASCII punctuation), `\n` `\r` `\t` `\f` `\v` `\0`, `\xHH`,
/// `\uXXXX` (surrogate pairs joined), `\u{X…}`, `\cX`; `.` (anything but a line terminator); classes
/// `[abc]` `[^a-z]` `[\d_-]`; `\d \D \w \W \s \S`; anchors `^` `$` and word boundaries `\b` `\B`;
/// groups `( )` and `(?: )`; alternation `|`; quantifiers `* + ? {n} {n,} {n,m}` and their lazy forms
/// (the same here: only whether there is a match counts). A search is not anchored: `b` matches `abc`.
/// There are no flags: matching is case-sensitive and `^` `$` mean the start and end of the whole text.
///
/// What needs backtracking or flags is refused at compile time with a ``LinearRegexError``:
/// backreferences, lookahead and lookbehind, named groups, inline flags, Unicode property escapes.
/// The compiled program is bounded by `maxProgramSize` (expanding `{n,m}` counts), so compiling is
/// bounded too.
struct LinearRegex: Sendable {
    /// The default bound on a compiled program, in instructions: `[a-z]{1,5000}` fits, `{1,10000}` does not.
    static let defaultMaxProgramSize = 10_000
    /// The default bound on nested groups, so that parsing and compiling never recurse deeply.
    static let defaultMaxNestingDepth = 100

    /// The pattern as written.
    let source: String
    /// The compiled NFA that ``match(_:)`` runs.
    let program: Program

    /// The number of instructions in the compiled program, the factor in the time bound.
    var programSize: Int { program.instructions.count }

    /// Compiles `source`; refuses unsupported syntax and programs longer than `maxProgramSize` instructions.
    init(
        _ source: String, maxProgramSize: Int = defaultMaxProgramSize, maxNestingDepth: Int = defaultMaxNestingDepth
    ) throws(LinearRegexError) {
        let tree = try Parser.parse(source, maxNestingDepth: maxNestingDepth)
        self.source = source
        self.program = try Compiler.compile(tree, maxProgramSize: maxProgramSize)
    }

    /// Whether `text` contains a match, anywhere.
    func matches(_ text: String) -> Bool {
        match(text).matched
    }

    /// Whether `text` contains a match, and the steps taken: at most `programSize × (scalars in text + 1)`.
    ///
    /// A step is one instruction entering the set of live threads at one input position; each instruction
    /// enters each position's set at most once, which is the whole time bound.
    func match(_ text: String) -> (matched: Bool, steps: Int) {
        var machine = Machine(program)
        let matched = machine.search(text.unicodeScalars)
        return (matched, machine.steps)
    }
}

extension LinearRegex {
    /// A zero-width condition on the characters around a position.
    enum Assertion: Hashable, Sendable {
        /// `^`: the start of the text (there is no multiline flag).
        case start
        /// `$`: the end of the text; unlike Perl, not before a final newline.
        case end
        /// `\b`: a `\w` character on exactly one side.
        case wordBoundary
        /// `\B`: `\w` characters on both sides or on neither.
        case notWordBoundary
    }

    /// One NFA instruction; a program ends with ``match``.
    enum Instruction: Hashable, Sendable {
        /// Consumes this scalar.
        case scalar(Unicode.Scalar)
        /// Consumes a scalar in `Program.sets[index]`.
        case set(Int)
        /// Continues at both targets.
        case split(Int, Int)
        /// Continues at the target.
        case jump(Int)
        /// Continues at the next instruction if the assertion holds here.
        case assert(Assertion)
        /// The pattern has matched.
        case match
    }

    /// A compiled pattern: the instructions and the character classes they refer to.
    struct Program: Sendable {
        /// The NFA, entered at index 0.
        var instructions: [Instruction]
        /// The classes, deduplicated, that ``Instruction/set(_:)`` indexes.
        var sets: [ScalarSet]

        /// Whether every match must start at the start of the text, so a search can stop when all threads die.
        var isAnchoredAtStart: Bool { instructions.first == .assert(.start) }
    }
}
