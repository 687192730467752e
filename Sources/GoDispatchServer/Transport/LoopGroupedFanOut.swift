import GoDispatchCore
import NIOCore

/// Delivers one frame to many connections: the WebSocket frame is encoded once and its buffer shared
/// by every recipient (no copy per recipient), recipients are grouped by event loop, and each other
/// loop gets one hop for its whole group. Each connection writes once per loop tick (``ChannelTransport``).
struct LoopGroupedFanOut: FrameFanOut {
    func deliver(_ frame: OutboundFrame, to recipients: [Connection]) {
        guard recipients.count > 1 else {
            recipients.first?.transport.send(frame)
            return
        }
        let encoded = WireFrame.encode(.text, payload: frame.bytes)
        // Most servers run one or two loops: a short list beats a dictionary here.
        var groups: [(loop: any EventLoop, transports: [ChannelTransport])] = []
        for connection in recipients {
            guard let transport = connection.transport as? ChannelTransport else {
                connection.transport.send(frame)
                continue
            }
            if let index = groups.firstIndex(where: { $0.loop === transport.eventLoop }) {
                groups[index].transports.append(transport)
            } else {
                var transports: [ChannelTransport] = []
                transports.reserveCapacity(recipients.count)
                transports.append(transport)
                groups.append((transport.eventLoop, transports))
            }
        }
        for group in groups {
            if group.loop.inEventLoop {
                for transport in group.transports { transport.enqueueOnLoop(encoded) }
            } else {
                let transports = group.transports
                group.loop.execute {
                    for transport in transports { transport.enqueueOnLoop(encoded) }
                }
            }
        }
    }
}
