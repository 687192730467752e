import GoDispatchCore
import NIOCore
import NIOWebSocket

/// Delivers one frame to many connections: the WebSocket frame is built once and shared (its buffer
/// is reference-counted), recipients are grouped by event loop, and each other loop gets one hop
/// for its whole group. Flushes are coalesced per loop tick by ``FlushBatcher``.
struct LoopGroupedFanOut: FrameFanOut {
    func deliver(_ frame: OutboundFrame, to recipients: [Connection]) {
        guard let first = recipients.first else { return }
        let wireFrame = WebSocketFrame.text(frame)
        if recipients.count == 1 {
            (first.transport as? ChannelTransport)?.send(wireFrame)
            return
        }
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, transports: [ChannelTransport])] = [:]
        for connection in recipients {
            guard let transport = connection.transport as? ChannelTransport else {
                connection.transport.send(frame)
                continue
            }
            let key = ObjectIdentifier(transport.eventLoop)
            byLoop[key, default: (transport.eventLoop, [])].transports.append(transport)
        }
        for (_, group) in byLoop {
            if group.loop.inEventLoop {
                for transport in group.transports { transport.writeOnLoop(wireFrame) }
            } else {
                let transports = group.transports
                group.loop.execute {
                    for transport in transports { transport.writeOnLoop(wireFrame) }
                }
            }
        }
    }
}

extension WebSocketFrame {
    /// A final text frame carrying `frame`'s bytes.
    static func text(_ frame: OutboundFrame) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: frame.bytes))
    }
}
