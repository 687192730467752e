import Foundation
import GoDispatchCore
@testable import GoDispatchServer
import GoDispatchTestSupport
import NIOCore
import Testing

/// Frames written straight to the socket (``DirectSocket``) and, once a client falls behind, through NIO:
/// nothing is lost or reordered at the hand-over, in either direction.
@Suite("Direct socket writes")
struct DirectWriteTests {
    /// The server-side transport of `user`'s (only) connection.
    static func transport(of user: String, in h: ServerHarness) throws -> ChannelTransport {
        let connection = try #require(h.server.engine.state.user(id: user)?.connections.first)
        return try #require(connection.transport as? ChannelTransport)
    }

    @Test func aPlainConnectionWritesToItsSocketDirectly() async throws {
        let h = try await ServerHarness()
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"echo","payload":"hello"}"#)
        #expect(await client.nextJSON()?["payload"] == .string("hello"))
        // If NIO's layout changed so that the descriptor cannot be found, this fails: the server still
        // works (through NIO's write path), but the benchmarks' figures no longer hold.
        #expect(try Self.transport(of: "alice", in: h).writesDirectly)
        await h.stop()
    }

    @Test func aClosedConnectionsDescriptorReusedByANewOneGetsNothingOfTheOld() async throws {
        let h = try await ServerHarness()
        let publisher = try await h.connect("pub")
        let state = h.server.engine.state
        for round in 0..<20 {
            let old = try await h.connectJoined(["old\(round)"], room: "r\(round)")[0]
            // Publishes race the socket's close; the next connection likely gets the same descriptor.
            try await publisher.send(#"{"event":"fanout","target":"r\#(round)","payload":"before"}"#)
            await old.client.disconnect()
            let new = try await h.connect("new\(round)")
            for _ in 0..<20 { try await publisher.send(#"{"event":"fanout","target":"r\#(round)","payload":"stale"}"#) }
            try await eventually(timeout: .seconds(30)) { state.user(id: "old\(round)") == nil }
            try await new.send(#"{"event":"echo","payload":"mine"}"#)
            let first = await new.nextJSON()
            #expect(first?["payload"] == .string("mine"), "round \(round): the new connection got \(String(describing: first))")
            await new.client.disconnect()
        }
        await h.stop()
    }

    @Test func framesStayInOrderWhenTheKernelStopsTakingThemAndAfter() async throws {
        let h = try await ServerHarness(serverExtra: ", max_outbound_bytes: 268435456")
        let clients = try await h.connectJoined(["pub", "reader"], room: "firehose")
        let (publisher, reader) = (clients[0], clients[1])
        let transport = try Self.transport(of: "reader", in: h)
        let partialSends = { try await transport.eventLoop.submit { transport.partialSends }.get() }
        try await reader.client.pauseReading()
        // Publish until the kernel's buffers for the reader are full and the server has handed bytes to
        // NIO (a partial send), then as many again: those queue behind the bytes NIO holds.
        let filler = String(repeating: "x", count: 900)
        var sent = 0
        var extra = -1
        while extra != 0, sent < 200_000 {
            try await publisher.send(#"{"event":"fanout","target":"firehose","payload":"\#(sent) \#(filler)"}"#)
            sent += 1
            if extra > 0 { extra -= 1 }
            if extra < 0, sent % 100 == 0, try await partialSends() > 0 { extra = sent }
        }
        #expect(extra == 0, "the kernel stopped taking the reader's frames within 200,000 frames")
        try await reader.client.resumeReading()
        for expected in 0..<sent {
            guard case .string(let payload)? = await reader.nextJSON()?["payload"] else {
                Issue.record("frame \(expected) of \(sent) missing")
                break
            }
            guard payload.hasPrefix("\(expected) ") else {
                Issue.record("frame \(expected) of \(sent) out of order: got \(payload.prefix(12))")
                break
            }
        }
        // Once NIO has written what it held, the reader's frames go straight to the socket again.
        try await reader.send(#"{"event":"echo","payload":"after"}"#)
        #expect(await reader.nextJSON()?["payload"] == .string("after"))
        await h.stop()
    }
}
