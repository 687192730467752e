import Testing

@testable import GoDispatchCore

/// Inputs the fuzz targets (`make fuzz`, Fuzz/) found mishandled; each also sits in Fuzz/Corpus.
@Suite("Fuzz regressions: envelope")
struct FuzzEnvelopeRegressionTests {
    /// Fuzz/Corpus/envelope/regression-escaped-event-key: a key spelled with escapes is the same key,
    /// as for any other JSON parser; the envelope used to skip it by its raw length.
    @Test func escapedEnvelopeKeysAreTheSameKeys() throws {
        let message = try EnvelopeParser.parse(
            Array(#"{"\u0065vent":"escaped","t\u0061rget":"\u00e9","p\u0061yload":[1],"\u0069d":7}"#.utf8))
        #expect(message.event == "escaped")
        #expect(message.target == "é")
        #expect(message.payloadJSON.map { Array($0) } == Array("[1]".utf8))
        #expect(message.idJSON.map { Array($0) } == Array("7".utf8))

        // The last of an escaped and a plain spelling wins, whichever comes last.
        let plainLast = try EnvelopeParser.parse(Array(#"{"\u0065vent":"a","event":"b"}"#.utf8))
        #expect(plainLast.event == "b")
        let escapedLast = try EnvelopeParser.parse(Array(#"{"event":"a","\u0065vent":"b"}"#.utf8))
        #expect(escapedLast.event == "b")
    }
}

/// `when:` conditions nested or chained past ``ConditionParser/maxOperators`` are refused at load.
@Suite("Fuzz regressions: conditions")
struct FuzzConditionRegressionTests {
    /// Fuzz/Corpus/condition/regression-deep-parentheses: every `(` recursed four functions deeper, so
    /// a long enough `when:` overflowed the stack while the configuration loaded.
    @Test func deeplyNestedConditionsAreRefusedNotRecursed() {
        let depth = 100_000
        let source = String(repeating: "(", count: depth) + "true" + String(repeating: ")", count: depth)
        #expect {
            _ = try ConditionParser.parse(source)
        } throws: { error in
            (error as? TemplateError)?.message.contains("more than \(ConditionParser.maxOperators) operators") == true
        }
        let nots = String(repeating: "not ", count: depth) + "true"
        #expect(throws: TemplateError.self) { _ = try ConditionParser.parse(nots) }
        let chain = Array(repeating: "true", count: depth).joined(separator: " and ")
        #expect(throws: TemplateError.self) { _ = try ConditionParser.parse(chain) }
    }

    @Test func conditionsWithinTheLimitStillParse() throws {
        let within = ConditionParser.maxOperators / 2
        let source = String(repeating: "(", count: within) + "payload.n > 3" + String(repeating: ")", count: within)
        #expect(try ConditionParser.parse(source) == ConditionParser.parse("payload.n > 3"))
        let chain = Array(repeating: "true", count: ConditionParser.maxOperators + 1).joined(separator: " or ")
        _ = try ConditionParser.parse(chain)
    }
}
