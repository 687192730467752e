import NIOCore
import NIOWebSocket
import Testing

@testable import GoDispatchServer

@Suite("WebSocket framing (RFC 6455) of client bytes")
struct WebSocketFramingTests {
    @Test func aFrameSplitIntoSingleBytesIsDeliveredOnceWhole() {
        let frame = clientFrame(opcode: 0x1, payload: Array(#"{"event":"echo"}"#.utf8))
        let result = parse(frame.map { [$0] })
        #expect(result.error == nil)
        #expect(result.delivered == [.text(#"{"event":"echo"}"#)])
    }

    @Test func severalFramesInOneReadAndControlFramesBetweenFragments() {
        let bytes =
            clientFrame(opcode: 0x1, fin: false, payload: Array("ab".utf8))
            + clientFrame(opcode: 0x9, payload: [7, 8])
            + clientFrame(opcode: 0x0, fin: false, payload: Array("cd".utf8))
            + clientFrame(opcode: 0xA, payload: [])
            + clientFrame(opcode: 0x0, payload: Array("ef".utf8))
            + clientFrame(opcode: 0x2, payload: [1, 2, 3])
            + clientFrame(opcode: 0x8, payload: [0x03, 0xE8] + Array("bye".utf8))
        let result = parse([bytes])
        #expect(result.error == nil)
        #expect(result.delivered == [.ping([7, 8]), .pong, .text("abcdef"), .binary, .close(1000, "bye")])
    }

    @Test func extendedLengthsAreRead() {
        let medium = String(repeating: "m", count: 300)
        let large = String(repeating: "L", count: 70_000)
        let bytes = clientFrame(opcode: 0x1, payload: Array(medium.utf8)) + clientFrame(opcode: 0x1, payload: Array(large.utf8))
        // Split at an odd place inside the second header, as a socket might.
        let cut = 2 + 2 + 4 + 300 + 5
        let result = parse([Array(bytes[..<cut]), Array(bytes[cut...])])
        #expect(result.error == nil)
        #expect(result.delivered == [.text(medium), .text(large)])
    }

    @Test(arguments: [
        (clientFrame(opcode: 0x1, payload: [0x41], masked: false), "client frames must be masked"),
        (clientFrame(opcode: 0x1, payload: [0x41], reserved: 0x40), "reserved bits set (no extension was negotiated)"),
        (clientFrame(opcode: 0x9, fin: false, payload: []), "control frames must not be fragmented"),
        (clientFrame(opcode: 0x9, payload: Array(repeating: 0, count: 126)), "control frame longer than 125 bytes"),
        (clientFrame(opcode: 0x0, payload: [0x41]), "continuation frame with no message to continue"),
        (
            clientFrame(opcode: 0x1, fin: false, payload: [0x41]) + clientFrame(opcode: 0x1, payload: [0x42]),
            "a new message began before the fragmented one finished"
        ),
        (clientFrame(opcode: 0x3, payload: []), "unknown opcode 3"),
        (clientFrame(opcode: 0x8, payload: [0x03]), "close frame with a 1-byte payload"),
    ])
    func brokenFramingIsAProtocolError(bytes: [UInt8], reason: String) {
        let result = parse([bytes])
        #expect(result.error == .protocolViolation(reason))
        #expect(result.error?.closeCode == 1002)
    }

    @Test func anOversizeMessageIsRefusedFromItsHeaderAlone() {
        // Only the header of a 2,000-byte frame has arrived: the limit is enforced before the payload is read.
        let header = Array(clientFrame(opcode: 0x1, payload: Array(repeating: 0x61, count: 2000)).prefix(8))
        let single = parse([header], limit: 1000)
        #expect(single.error == .messageTooLarge(limit: 1000))
        #expect(single.error?.closeCode == 1009)
        let fragments =
            clientFrame(opcode: 0x1, fin: false, payload: Array(repeating: 0x61, count: 600))
            + clientFrame(opcode: 0x0, payload: Array(repeating: 0x61, count: 600))
        #expect(parse([fragments], limit: 1000).error == .messageTooLarge(limit: 1000))
        #expect(parse([fragments], limit: 1200).delivered == [.text(String(repeating: "a", count: 1200))])
    }
}

@Suite("WebSocket frames the server writes")
struct WireFrameTests {
    @Test func aLongCloseReasonIsCutAtACharacterBoundaryWithinTheControlFrameLimit() {
        let reason = String(repeating: "é", count: 100)  // 200 bytes of 2-byte characters
        var frame = WireFrame.close(code: 4008, reason: reason)
        #expect(frame.readInteger(as: UInt8.self) == 0x88)  // FIN + close
        let length = Int(frame.readInteger(as: UInt8.self)!)
        #expect(length == 2 + 122, "122 bytes = 61 whole characters; 123 would split one")
        #expect(frame.readInteger(as: UInt16.self) == 4008)
        #expect(frame.readString(length: frame.readableBytes) == String(repeating: "é", count: 61))
    }

    @Test func lengthsPickTheShortestHeader() {
        #expect(WireFrame.encode(.text, payload: [UInt8](repeating: 0x61, count: 125)).readableBytes == 2 + 125)
        #expect(WireFrame.encode(.text, payload: [UInt8](repeating: 0x61, count: 126)).readableBytes == 4 + 126)
        #expect(WireFrame.encode(.text, payload: [UInt8](repeating: 0x61, count: 65_536)).readableBytes == 10 + 65_536)
    }
}

@Suite("WebSocket framing end to end")
struct WebSocketFramingEndToEndTests {
    @Test func aClientBreakingTheFramingIsFailedWith1002AndForgotten() async throws {
        let h = try await ServerHarness()
        let state = h.server.engine.state
        let reserved = try await h.connect("rsv")
        try await reserved.client.send(frame: WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: ByteBuffer(string: "{}")))
        #expect(await reserved.closeCode() == 1002)
        let unknown = try await h.connect("opcode")
        try await unknown.client.send(
            frame: WebSocketFrame(fin: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, data: ByteBuffer()))
        #expect(await unknown.closeCode() == 1002)
        try await eventually(timeout: .seconds(30)) { state.user(id: "rsv") == nil && state.user(id: "opcode") == nil }
        // Others are unaffected.
        let fine = try await h.connect("fine")
        try await fine.send(#"{"event":"echo","payload":"ok"}"#)
        #expect(await fine.nextJSON()?["payload"] == .string("ok"))
        await h.stop()
    }
}
