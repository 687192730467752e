#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// The descriptor of a plain TCP connection's socket, so that message frames can be written to it with one
/// `send(2)` instead of through NIO's channel write path.
///
/// Why: in a many-rooms load (the benchmark's scenario D) nearly every delivery is a system call of its
/// own, and NIO's per-write bookkeeping (pipeline, pending-writes queue, promises, lifecycle checks) cost
/// about as much user-space CPU as the rest of the engine together. ``ChannelTransport`` writes directly
/// only while NIO holds none of the connection's bytes (so the order on the wire is kept), only on the
/// channel's event loop, and only until the channel has gone inactive: NIO closes the descriptor on that
/// same loop, in the same call that fires `channelInactive` (which closes the transport's lifecycle), so
/// the descriptor cannot have been closed, let alone reused, while the transport is not closed. Whatever
/// the kernel does not take at once is handed to NIO, which then owns backpressure, `EPOLLOUT` and errors
/// as before.
///
/// NIO does not publish a socket channel's descriptor, so it is read by reflection from the channel's
/// `socket` and checked: the descriptor's own local and peer addresses must be the channel's. If NIO's
/// layout changes, or the check fails, there is no descriptor and every write goes through NIO
/// (`DirectWriteTests` asserts the direct path is in use, so such a change shows in the tests, not only in
/// the benchmarks). Never used with TLS, whose bytes must go through the TLS handler.
struct DirectSocket {
    /// The socket's file descriptor; owned (and closed) by NIO.
    let descriptor: CInt

    /// The descriptor of `channel`'s socket, or nil if it cannot be found and verified. On the channel's loop.
    init?(channel: any Channel) {
        guard let local = channel.localAddress, let remote = channel.remoteAddress,
            let descriptor = Self.reflectedDescriptor(of: channel),
            Self.address(of: descriptor, getter: getsockname) == local,
            Self.address(of: descriptor, getter: getpeername) == remote
        else { return nil }
        self.descriptor = descriptor
    }

    /// What one `send` did.
    enum SendResult: Equatable {
        /// Every byte was taken.
        case all
        /// The kernel took this many bytes (fewer than asked; maybe none): the rest must wait.
        case partial(Int)
        /// The socket failed (reset, broken pipe): NIO should see it for itself.
        case failed
    }

    /// Sends the readable bytes of `buffer` without blocking and without `SIGPIPE`.
    func send(_ buffer: ByteBuffer) -> SendResult {
        let count = buffer.readableBytes
        while true {
            let sent = buffer.withUnsafeReadableBytes { bytes in
                Glibc.send(descriptor, bytes.baseAddress, count, CInt(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent == count { return .all }
            if sent >= 0 { return .partial(sent) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .partial(0)
            default: return .failed
            }
        }
    }

    /// The `descriptor` of the `socket` of NIO's socket channel (`BaseSocketChannel.socket`, a `BaseSocket`).
    private static func reflectedDescriptor(of channel: any Channel) -> CInt? {
        guard let socket = child("socket", of: Mirror(reflecting: channel)) else { return nil }
        return child("descriptor", of: Mirror(reflecting: socket)) as? CInt
    }

    /// The value of the stored property `label` of a class instance or of one of its superclasses.
    private static func child(_ label: String, of mirror: Mirror) -> Any? {
        var current: Mirror? = mirror
        while let level = current {
            if let value = level.children.first(where: { $0.label == label })?.value { return value }
            current = level.superclassMirror
        }
        return nil
    }

    /// The local or peer address of a descriptor, through `getsockname` or `getpeername`.
    private static func address(
        of descriptor: CInt, getter: (CInt, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?) -> CInt
    ) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getter(descriptor, $0, &length) }
        }
        guard status == 0 else { return nil }
        switch CInt(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: storage) { SocketAddress($0.load(as: sockaddr_in.self)) }
        case AF_INET6:
            return withUnsafeBytes(of: storage) { SocketAddress($0.load(as: sockaddr_in6.self)) }
        default:
            return nil
        }
    }
}
