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
        withUnsafeTemporaryAllocation(of: Unmanaged<ChannelTransport>.self, capacity: recipients.count) { transports in
            // First every recipient's transport, then the queueing: the loads of one pass do not wait
            // for each other, so the processor overlaps their cache misses (with 100 recipients in a
            // cold room, those misses were most of the fan-out's own time). `recipients` keeps every
            // connection, and so its transport, alive until the end.
            var count = 0
            for connection in recipients {
                guard let transport = connection.transport as? ChannelTransport else {
                    connection.transport.send(frame)
                    continue
                }
                transports[count] = .passUnretained(transport)
                count += 1
            }
            // Most servers run one or two loops: a short list beats a dictionary here.
            var groups: [(loop: ObjectIdentifier, transports: [ChannelTransport])] = []
            for index in 0..<count {
                let transport = transports[index].takeUnretainedValue()
                let loop = transport.loopID
                if loop == here {
                    transport.enqueueOnLoop(encoded)
                } else if let group = groups.firstIndex(where: { $0.loop == loop }) {
                    groups[group].transports.append(transport)
                } else {
                    var others: [ChannelTransport] = []
                    others.reserveCapacity(count - index)
                    others.append(transport)
                    groups.append((loop, others))
                }
            }
            for group in groups {
                let others = group.transports
                others[0].eventLoop.execute {
                    for transport in others { transport.enqueueOnLoop(encoded) }
                }
            }
        }
    }
}
