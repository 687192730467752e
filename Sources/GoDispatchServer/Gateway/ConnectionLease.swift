import Synchronization

/// Something an accepted upgrade holds for as long as its connection lives — a place in a per-address
/// count — and gives back exactly once: when the connection closes, or at once if a later middleware
/// refuses the upgrade after all. Middlewares add leases to ``RequestMetadata/leases``; the server
/// releases them when the channel closes.
public final class ConnectionLease: Sendable {
    private let action: @Sendable () -> Void
    private let released = Atomic<Bool>(false)

    /// A lease whose `release` runs `action` (once, from any thread).
    public init(release action: @escaping @Sendable () -> Void) { self.action = action }

    /// Gives the lease back; later calls do nothing.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        action()
    }
}
