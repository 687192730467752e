import GoDispatchCore
import NIOCore
import Testing

@testable import GoDispatchServer

/// Close codes Autobahn|Testsuite's cases 7.7.1–7.7.13 send and expect echoed in a clean close, plus
/// 1012–1014, registered with IANA since (Service Restart, Try Again Later, Bad Gateway).
let validCloseCodes: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
    + [1012, 1013, 1014]
/// Close codes Autobahn|Testsuite's cases 7.9.1–7.9.9 send and expect answered with 1002, plus 1015 (TLS
/// handshake, never on the wire) and codes above every defined range.
let invalidCloseCodes: [UInt16] = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999] + [1015, 5000, 65535]

/// Autobahn case 7.5.1's close reason: valid UTF-8 up to an encoded surrogate (ED A0 80).
let invalidUTF8Reason: [UInt8] = [
    0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64,
]

@Suite("RFC 6455 to the letter: close codes, UTF-8, length encodings (parser)")
struct WebSocketConformanceTests {
    @Test(arguments: validCloseCodes)
    func aValidCloseCodeIsDelivered(code: UInt16) {
        let result = parse([clientClose(code, reason: Array("bye".utf8))])
        #expect(result.error == nil)
        #expect(result.delivered == [.close(code, "bye")])
    }

    @Test(arguments: invalidCloseCodes)
    func anInvalidCloseCodeIsAProtocolError(code: UInt16) {
        let result = parse([clientClose(code)])
        #expect(result.error == .protocolViolation("invalid close code \(code)"))
        #expect(result.error?.closeCode == 1002)
        #expect(result.delivered.isEmpty)
    }

    @Test func aCloseReasonThatIsNotUTF8Fails1007() {
        let result = parse([clientClose(1000, reason: invalidUTF8Reason)])
        #expect(result.error == .invalidUTF8("close reason is not valid UTF-8"))
        #expect(result.error?.closeCode == 1007)
    }

    @Test func anEmptyCloseFrameIsFine() {
        #expect(parse([clientFrame(opcode: 0x8, payload: [])]).delivered == [.close(nil, "")])
    }

    @Test func invalidUTF8InAFragmentFailsAtThatFragmentNotTheLast() {
        let chunks = [
            clientFrame(opcode: 0x1, fin: false, payload: Array("κόσμε".utf8)),
            clientFrame(opcode: 0x0, fin: false, payload: [0xF4, 0x90, 0x80, 0x80]),  // U+110000: out of range
            clientFrame(opcode: 0x0, payload: Array("edited".utf8)),
        ]
        let result = parse(chunks)
        #expect(result.error == .invalidUTF8("text message is not valid UTF-8"))
        #expect(result.error?.closeCode == 1007)
        #expect(result.chunksRead == 2, "refused at the fragment holding the bad byte")
    }

    @Test func invalidUTF8FailsBeforeTheRestOfItsFrameArrives() {
        let frame = clientFrame(opcode: 0x1, payload: Array("κόσμε".utf8) + [0xED, 0xA0, 0x80] + Array("edited".utf8))
        let headerAndGoodPart = 6 + "κόσμε".utf8.count
        let chunks = [
            Array(frame[..<headerAndGoodPart]), Array(frame[headerAndGoodPart..<headerAndGoodPart + 2]),
            Array(frame[(headerAndGoodPart + 2)...]),
        ]
        let result = parse(chunks)
        #expect(result.error == .invalidUTF8("text message is not valid UTF-8"))
        #expect(result.chunksRead == 2, "ED A0 is already a surrogate: no need to wait for the frame's end")
    }

    @Test func aFragmentMayEndInsideACharacter() {
        let word = Array("κόσμε€𝄞".utf8)
        // Split at every byte: every fragment but the first is a continuation.
        var bytes = clientFrame(opcode: 0x1, fin: false, payload: [word[0]])
        for (index, byte) in word.dropFirst().enumerated() {
            bytes += clientFrame(opcode: 0x0, fin: index == word.count - 2, payload: [byte])
        }
        // ...and deliver the wire bytes one at a time too, so frames are incomplete at every read.
        let result = parse(bytes.map { [$0] })
        #expect(result.error == nil)
        #expect(result.delivered == [.text("κόσμε€𝄞")])
    }

    @Test func aMessageEndingInsideACharacterFails1007() {
        let split =
            clientFrame(opcode: 0x1, fin: false, payload: Array("ok".utf8) + [0xE2, 0x82])
            + clientFrame(opcode: 0x0, payload: [])
        #expect(parse([split]).error == .invalidUTF8("text message ends inside a character"))
        #expect(parse([clientFrame(opcode: 0x1, payload: [0x61, 0xF0, 0x9D])]).error?.closeCode == 1007)
    }

    @Test func unfragmentedInvalidTextFails1007ButBinaryIsNotChecked() {
        #expect(parse([clientFrame(opcode: 0x1, payload: [0x7B, 0xC3, 0x28, 0x7D])]).error?.closeCode == 1007)
        #expect(parse([clientFrame(opcode: 0x2, payload: [0xC3, 0x28])]).delivered == [.binary])
    }

    @Test func controlFramesBetweenFragmentsKeepTheTextState() {
        let bytes =
            clientFrame(opcode: 0x1, fin: false, payload: [0x61, 0xE2])
            + clientFrame(opcode: 0x9, payload: [0xFF])  // a ping's payload is binary: not UTF-8 checked
            + clientFrame(opcode: 0x0, payload: [0x82, 0xAC])
        let result = parse([bytes])
        #expect(result.error == nil)
        #expect(result.delivered == [.ping([0xFF]), .text("a€")])
    }

    @Test(arguments: [
        (LengthForm.sixteenBit, 0, "payload length 0 sent in the 16-bit form (must use the shortest form)"),
        (LengthForm.sixteenBit, 125, "payload length 125 sent in the 16-bit form (must use the shortest form)"),
        (LengthForm.sixtyFourBit, 125, "payload length 125 sent in the 64-bit form (must use the shortest form)"),
        (LengthForm.sixtyFourBit, 65_535, "payload length 65535 sent in the 64-bit form (must use the shortest form)"),
        (LengthForm.sixtyFourBitHighBitSet, 10, "64-bit payload length with its most significant bit set"),
    ])
    func nonMinimalLengthsAreProtocolErrors(form: LengthForm, length: Int, reason: String) {
        let frame = clientFrame(opcode: 0x1, payload: Array(repeating: 0x61, count: length), lengthForm: form)
        let headerOnly = Array(frame.prefix(form == .sixteenBit ? 4 : 10))
        let result = parse([headerOnly])
        #expect(result.error == .protocolViolation(reason), "refused from the header alone")
        #expect(result.error?.closeCode == 1002)
    }

    @Test func theSmallestLengthOfEachFormIsAccepted() {
        let medium = String(repeating: "m", count: 126)
        let large = String(repeating: "L", count: 65_536)
        let result = parse([
            clientFrame(opcode: 0x1, payload: Array(medium.utf8)) + clientFrame(opcode: 0x1, payload: Array(large.utf8))
        ])
        #expect(result.error == nil)
        #expect(result.delivered == [.text(medium), .text(large)])
    }
}

@Suite("Incremental UTF-8 validation")
struct UTF8StreamValidatorTests {
    /// Feeds `pieces` and returns whether they were accepted and whether the text could end there.
    private func feed(_ pieces: [[UInt8]]) -> (accepted: Bool, complete: Bool) {
        var validator = UTF8StreamValidator()
        for piece in pieces where !piece.withUnsafeBytes({ validator.consume($0) }) { return (false, false) }
        return (true, validator.isComplete)
    }

    @Test func agreesWithTheWholeBufferCheckOnEverySplit() {
        let samples: [[UInt8]] = [
            Array("hello κόσμε € 𝄞 ok".utf8), [0xC0, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF0, 0x8F, 0xBF, 0xBF], [0xF5], [0x80], [0xE2, 0x82], [0x61, 0xF0, 0x9D, 0x84], [0xEF, 0xBF, 0xBF],
            [0xF4, 0x8F, 0xBF, 0xBF], [0xED, 0x9F, 0xBF], [0xC2],
        ]
        for sample in samples {
            let whole = sample.withUnsafeBytes { UTF8Validation.isValid($0) }
            for cut in 0...sample.count {
                for second in cut...sample.count {
                    let result = feed([Array(sample[..<cut]), Array(sample[cut..<second]), Array(sample[second...])])
                    #expect((result.accepted && result.complete) == whole, "\(sample) cut at \(cut), \(second)")
                }
            }
        }
    }

    @Test func refusesAtTheFirstImpossibleByte() {
        #expect(feed([[0xE0], [0x80]]).accepted == false, "E0 80 can only be an overlong")
        let prefix = feed([[0xF0, 0x9D], [0x84]])
        #expect(prefix.accepted && !prefix.complete, "a valid prefix, still owing a byte")
    }
}
