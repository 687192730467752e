import NIOCore

/// The handler next to the socket. It forwards every outbound write unchanged; its context is where a
/// ``ChannelTransport`` writes already encoded ``WireFrame`` bytes, so message frames skip the
/// per-frame work of the handlers above it (the frame encoder) — one write per connection per loop tick.
final class WireWriter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Any
}
