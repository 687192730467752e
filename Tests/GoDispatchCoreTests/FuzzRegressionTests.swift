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
