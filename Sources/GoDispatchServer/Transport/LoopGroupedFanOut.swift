import GoDispatchCore
import NIOCore
import NIOPosix

/// Delivers one frame to many connections: the WebSocket frame is encoded once and its buffer shared
/// by every recipient (no copy per recipient). Recipients on the calling event loop get the frame queued
/// at once; the others are grouped by loop, and each other loop gets one hop for its whole group. Each
/// connection writes once per loop tick (``ChannelTransport``).
struct LoopGroupedFanOut: FrameFanOut {
    func deliver(_ frame: OutboundFrame, to recipients: [Connection]) {
        guard recipients.count > 1 else {
            recipients.first?.transport.send(frame)
            return
        }
        let encoded = WireFrame.encode(.text, payload: frame.bytes)
        // Loops are compared by identity (no retain of the loop per recipient). Off any loop (an API
        // thread, a test) nothing is "here" and every recipient goes through its group.
        let here = MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
        // Most servers run one or two loops: a short list beats a dictionary here.
        var groups: [(loop: ObjectIdentifier, transports: [ChannelTransport])] = []
        for connection in recipients {
            guard let transport = connection.transport as? ChannelTransport else {
                connection.transport.send(frame)
                continue
            }
            let loop = transport.loopID
            if loop == here {
                transport.enqueueOnLoop(encoded)
            } else if let index = groups.firstIndex(where: { $0.loop == loop }) {
                groups[index].transports.append(transport)
            } else {
                var transports: [ChannelTransport] = []
                transports.reserveCapacity(recipients.count)
                transports.append(transport)
                groups.append((loop, transports))
            }
        }
        for group in groups {
            let transports = group.transports
            transports[0].eventLoop.execute {
                for transport in transports { transport.enqueueOnLoop(encoded) }
            }
        }
    }
}
