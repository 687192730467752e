/// Parses `when:` expressions into ``StepCondition``s (recursive descent; see its syntax).
struct ConditionParser {
    private enum Token: Equatable {
        case word(String)  // a path or a keyword
        case string(String)
        case number(String)
        case symbol(String)  // ( ) == != < <= > >=
    }

    /// Most `and`, `or`, `not` and parenthesized groups in one condition. Each one nests the parse (and
    /// the condition's evaluation) one level deeper, so an unbounded count could overflow the stack at
    /// load; no readable condition comes near it.
    static let maxOperators = 128

    private var tokens: [Token] = []
    private var index = 0
    private var operators = 0
    private let source: String

    /// Parses `source` or explains what is wrong.
    static func parse(_ source: String) throws(TemplateError) -> StepCondition {
        var parser = ConditionParser(source: source)
        try parser.tokenize()
        guard !parser.tokens.isEmpty else { throw TemplateError(message: "`when` is empty; write a condition such as payload.n > 3") }
        let condition = try parser.parseOr()
        guard parser.index == parser.tokens.count else {
            throw TemplateError(message: "unexpected \(parser.describe(parser.tokens[parser.index])) in `when: \(source)`")
        }
        return condition
    }

    private init(source: String) { self.source = source }

    private mutating func tokenize() throws(TemplateError) {
        let chars = Array(source)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" {
                i += 1
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var text = ""
                while j < chars.count, chars[j] != c {
                    if chars[j] == "\\", j + 1 < chars.count { j += 1 }
                    text.append(chars[j])
                    j += 1
                }
                guard j < chars.count else { throw TemplateError(message: "unterminated string in `when: \(source)`") }
                tokens.append(.string(text))
                i = j + 1
            } else if c.isNumber || (c == "-" && i + 1 < chars.count && chars[i + 1].isNumber) {
                var j = i + 1
                while j < chars.count, chars[j].isNumber || chars[j] == "." || chars[j] == "e" || chars[j] == "E" { j += 1 }
                let text = String(chars[i..<j])
                guard Double(text) != nil else { throw TemplateError(message: "`\(text)` is not a number in `when: \(source)`") }
                tokens.append(.number(text))
                i = j
            } else if c.isLetter || c == "_" {
                var j = i + 1
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || "_-.".contains(chars[j]) { j += 1 }
                tokens.append(.word(String(chars[i..<j])))
                i = j
            } else if "=!<>".contains(c) {
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    tokens.append(.symbol(two))
                    i += 2
                } else if c == "<" || c == ">" {
                    tokens.append(.symbol(String(c)))
                    i += 1
                } else {
                    throw TemplateError(message: "`\(c)` is not an operator in `when: \(source)`; use == != < <= > >=")
                }
            } else if c == "(" || c == ")" {
                tokens.append(.symbol(String(c)))
                i += 1
            } else {
                throw TemplateError(message: "unexpected `\(c)` in `when: \(source)`")
            }
        }
    }

    /// Counts one operator or group against ``maxOperators``.
    private mutating func countOperator() throws(TemplateError) {
        operators += 1
        guard operators <= Self.maxOperators else {
            throw TemplateError(
                message: "`when:` has more than \(Self.maxOperators) operators and parentheses; split it across steps")
        }
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case .word(let w): return "`\(w)`"
        case .string(let s): return "'\(s)'"
        case .number(let n): return n
        case .symbol(let s): return "`\(s)`"
        }
    }

    private mutating func parseOr() throws(TemplateError) -> StepCondition {
        var left = try parseAnd()
        while index < tokens.count, tokens[index] == .word("or") {
            index += 1
            try countOperator()
            left = .or(left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws(TemplateError) -> StepCondition {
        var left = try parseNot()
        while index < tokens.count, tokens[index] == .word("and") {
            index += 1
            try countOperator()
            left = .and(left, try parseNot())
        }
        return left
    }

    private mutating func parseNot() throws(TemplateError) -> StepCondition {
        if index < tokens.count, tokens[index] == .word("not") {
            index += 1
            try countOperator()
            return .not(try parseNot())
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(TemplateError) -> StepCondition {
        if index < tokens.count, tokens[index] == .symbol("(") {
            index += 1
            try countOperator()
            let inner = try parseOr()
            guard index < tokens.count, tokens[index] == .symbol(")") else {
                throw TemplateError(message: "missing `)` in `when: \(source)`")
            }
            index += 1
            return inner
        }
        if index + 1 < tokens.count, tokens[index] == .word("exists"), tokens[index + 1] == .symbol("(") {
            index += 2
            guard index < tokens.count, case .word(let path) = tokens[index] else {
                throw TemplateError(message: "exists(…) takes a path in `when: \(source)`")
            }
            index += 1
            guard index < tokens.count, tokens[index] == .symbol(")") else {
                throw TemplateError(message: "missing `)` after exists(\(path) in `when: \(source)`")
            }
            index += 1
            return .exists(try TemplateReference.parse(path))
        }
        let left = try parseOperand()
        guard index < tokens.count else { return .value(left) }
        let comparison: StepCondition.Comparison?
        switch tokens[index] {
        case .symbol(let symbol): comparison = StepCondition.Comparison(rawValue: symbol)
        case .word("in"): comparison = .contains
        default: comparison = nil
        }
        guard let comparison else { return .value(left) }
        index += 1
        return .compare(left, comparison, try parseOperand())
    }

    private mutating func parseOperand() throws(TemplateError) -> StepCondition.Operand {
        guard index < tokens.count else { throw TemplateError(message: "`when: \(source)` ends too early") }
        let token = tokens[index]
        index += 1
        switch token {
        case .string(let text): return .literal(.string(text))
        case .number(let text): return .literal(.number(text))
        case .word("true"): return .literal(.bool(true))
        case .word("false"): return .literal(.bool(false))
        case .word("null"): return .literal(.null)
        case .word(let path) where !["and", "or", "not", "in"].contains(path):
            return .path(try TemplateReference.parse(path))
        default:
            throw TemplateError(message: "expected a value but found \(describe(token)) in `when: \(source)`")
        }
    }
}
