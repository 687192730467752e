import Testing

/// Upgrades a raw connection as `user`, expecting 101.
private func upgradedRawClient(_ h: ServerHarness, user: String = "raw", headers: [(String, String)] = [])
    async throws -> RawClient
{
    let (client, head) = try await RawClient.upgrade(
        port: h.port, token: try await ServerHarness.token(sub: user), headers: headers)
    #expect(head.hasPrefix("HTTP/1.1 101"), "upgrade answered: \(head)")
    return client
}

@Suite("RFC 6455 to the letter, over a real socket")
struct WebSocketConformanceEndToEndTests {
    @Test(arguments: validCloseCodes)
    func aValidCloseCodeIsEchoedInACleanClose(code: UInt16) async throws {
        let h = try await ServerHarness(threads: 1)
        let client = try await upgradedRawClient(h)
        try await client.write(clientClose(code, reason: Array("bye".utf8)))
        #expect(await client.closeCode() == code)
        #expect(await client.closedByServer())
        await h.stop()
    }

    @Test(arguments: invalidCloseCodes)
    func anInvalidCloseCodeIsAnsweredWith1002NotEchoed(code: UInt16) async throws {
        let h = try await ServerHarness(threads: 1)
        let client = try await upgradedRawClient(h)
        try await client.write(clientClose(code))
        let answer = await client.frame()
        #expect(answer?.closeCode == 1002)
        #expect(answer?.closeReason == "invalid close code \(code)")
        #expect(await client.closedByServer(), "failed: the server hangs up without waiting")
        await h.stop()
    }

    @Test func aCloseReasonThatIsNotUTF8IsAnsweredWith1007() async throws {
        let h = try await ServerHarness(threads: 1)
        let client = try await upgradedRawClient(h)
        try await client.write(clientClose(1000, reason: invalidUTF8Reason))
        #expect(await client.closeCode() == 1007)
        #expect(await client.closedByServer())
        await h.stop()
    }

    @Test func invalidUTF8InTheSecondOfThreeFragmentsFailsBeforeTheThird() async throws {
        let h = try await ServerHarness(threads: 1)
        let client = try await upgradedRawClient(h)
        try await client.write(clientFrame(opcode: 0x1, fin: false, payload: Array(#"{"event":"echo","payload":"κόσμε"#.utf8)))
        try await client.write(clientFrame(opcode: 0x0, fin: false, payload: [0xF4, 0x90, 0x80, 0x80]))
        // The third fragment is never sent: the answer must come from the second alone.
        #expect(await client.closeCode() == 1007)
        #expect(await client.closedByServer())
        await h.stop()
    }

    @Test func invalidUTF8FailsBeforeTheRestOfItsFrameIsSent() async throws {
        let h = try await ServerHarness(threads: 1)
        let client = try await upgradedRawClient(h)
        let frame = clientFrame(opcode: 0x1, payload: Array("κόσμε".utf8) + [0xED, 0xA0, 0x80] + Array(repeating: 0x61, count: 200))
        try await client.write(Array(frame.prefix(4 + 4 + "κόσμε".utf8.count + 2)))
        #expect(await client.closeCode() == 1007)
        #expect(await client.closedByServer())
        await h.stop()
    }

    @Test func unfragmentedInvalidTextFailsWith1007() async throws {
        let h = try await ServerHarness(threads: 1)
        let client = try await upgradedRawClient(h)
        try await client.write(clientFrame(opcode: 0x1, payload: Array(#"{"event":"echo","payload":""#.utf8) + [0xC3, 0x28]))
        #expect(await client.closeCode() == 1007)
        #expect(await client.closedByServer())
        await h.stop()
    }

    @Test(arguments: [LengthForm.sixteenBit, .sixtyFourBit, .sixtyFourBitHighBitSet])
    func aLengthNotInItsShortestFormFailsWith1002(form: LengthForm) async throws {
        let h = try await ServerHarness(threads: 1)
        let client = try await upgradedRawClient(h)
        try await client.write(clientFrame(opcode: 0x1, payload: Array(#"{"event":"echo"}"#.utf8), lengthForm: form))
        #expect(await client.closeCode() == 1002)
        #expect(await client.closedByServer())
        await h.stop()
    }

    @Test func aPermessageDeflateOfferIsDeclinedAndRSV1IsThenAProtocolError() async throws {
        let h = try await ServerHarness(threads: 1)
        // What Python's `websockets` offers by default.
        let offer = ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
        let (client, head) = try await RawClient.upgrade(
            port: h.port, token: try await ServerHarness.token(sub: "deflate"), headers: [offer])
        #expect(head.hasPrefix("HTTP/1.1 101"))
        #expect(!head.lowercased().contains("sec-websocket-extensions"), "no extension accepted: \(head)")
        // The connection works as usual...
        try await client.write(clientFrame(opcode: 0x1, payload: Array(#"{"event":"echo","payload":"plain"}"#.utf8)))
        let echo = await client.frame()
        #expect(echo?.opcode == 0x1)
        #expect(echo.map { String(decoding: $0.payload, as: UTF8.self).contains("plain") } == true)
        // ...and a compressed frame (RSV1) is a protocol violation, since nothing was negotiated.
        try await client.write(clientFrame(opcode: 0x1, payload: [0xAA, 0x56, 0x02, 0x00], reserved: 0x40))
        let answer = await client.frame()
        #expect(answer?.closeCode == 1002)
        #expect(answer?.closeReason == "reserved bits set (no extension was negotiated)")
        #expect(await client.closedByServer())
        await h.stop()
    }
}
