import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `gd_call *` handles plugins receive: generation-checked, never a pointer to an object.
///
/// A handle names a slot in the calling thread's table and the slot's generation when the invocation
/// began: `[table id: 16 bits][generation: 32 bits][slot: 16 bits]`. When `invoke` returns the slot's
/// generation moves on, so a handle kept past its `invoke` answers GD_ERR_STALE, whichever thread uses
/// it and whatever the slot holds now. The tables are per thread, so a handle used on another thread
/// than its `invoke`'s (which the ABI forbids) finds a table with another id and is stale too; no lock
/// and no atomic is taken on the hot path.
enum CallHandles {
    /// One thread's active invocations.
    final class Table {
        /// The table's id in every handle it issues (never 0, so no handle is NULL).
        let id: UInt64
        /// The invocation in each slot (nil when free) and the slot's generation.
        var slots: [(generation: UInt32, invocation: ActionInvocation?)] = []
        /// Free slots, reused last-in first-out.
        var free: [Int] = []

        init(id: UInt64) { self.id = id }
    }

    /// Most invocations one thread may have active at once (nested through plugins), the slot field's range.
    static let maxSlots = 1 << 16
    private static let tableCounter = Atomic<UInt64>(0)

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { table in
            guard let table else { return }
            Unmanaged<Table>.fromOpaque(table).release()
        }
        precondition(status == 0, "pthread_key_create failed")
        return key
    }()

    /// This thread's table, made on first use (released when the thread exits).
    static var current: Table {
        if let raw = pthread_getspecific(key) { return Unmanaged<Table>.fromOpaque(raw).takeUnretainedValue() }
        let next = tableCounter.add(1, ordering: .relaxed).newValue
        let table = Table(id: (next - 1) % 0xFFFF + 1)
        pthread_setspecific(key, Unmanaged.passRetained(table).toOpaque())
        return table
    }

    /// Gives `invocation` a handle, valid until ``release(_:)``. Call on the thread that runs `invoke`.
    static func issue(for invocation: ActionInvocation) -> OpaquePointer {
        let table = current
        let slot: Int
        if let reused = table.free.popLast() {
            slot = reused
        } else {
            precondition(table.slots.count < maxSlots, "more than \(maxSlots) nested plugin invocations on one thread")
            slot = table.slots.count
            table.slots.append((generation: 0, invocation: nil))
        }
        table.slots[slot].invocation = invocation
        let bits = table.id << 48 | UInt64(table.slots[slot].generation) << 16 | UInt64(slot)
        return OpaquePointer(bitPattern: UInt(bits))!
    }

    /// Ends a handle: from now on it is stale. Call on the thread that issued it.
    static func release(_ handle: OpaquePointer) {
        let table = current
        let (id, generation, slot) = decode(handle)
        guard id == table.id, slot < table.slots.count, table.slots[slot].generation == generation else { return }
        table.slots[slot].invocation = nil
        table.slots[slot].generation &+= 1
        table.free.append(slot)
    }

    /// The invocation behind a handle, if the handle is live on this thread.
    @inline(__always)
    static func lookup(_ handle: OpaquePointer?) -> ActionInvocation? {
        guard let handle else { return nil }
        let table = current
        let (id, generation, slot) = decode(handle)
        guard id == table.id, slot < table.slots.count, table.slots[slot].generation == generation else { return nil }
        return table.slots[slot].invocation
    }

    @inline(__always)
    private static func decode(_ handle: OpaquePointer) -> (table: UInt64, generation: UInt32, slot: Int) {
        let bits = UInt64(UInt(bitPattern: handle))
        return (bits >> 48, UInt32(truncatingIfNeeded: bits >> 16), Int(bits & 0xFFFF))
    }
}
