#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value that threads share, behind a pthread mutex: `withLock` gives exclusive access.
///
/// The engine uses this rather than the standard library's `Mutex`, whose Linux implementation locks
/// with futexes inside the (uninstrumented) standard library: ThreadSanitizer cannot see those locks
/// and reports every contended access as a race, so `make test-tsan` could never be clean. pthread
/// locks are what TSan intercepts, so with this type a race it reports is a race.
///
/// The value and its mutex live in one allocation (a `ManagedBuffer` with the mutex as its one
/// element): a connection holds several of these, so the second allocation each would cost shows in
/// the memory of every idle connection. Copies of a `Locked` share the same storage.
public struct Locked<Value> {
    private let storage: Storage

    /// Wraps `value`.
    public init(_ value: Value) {
        storage = Storage.create(value)
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        try storage.withLock(body)
    }

    /// The value and its mutex, in one allocation.
    private final class Storage: ManagedBuffer<Value, pthread_mutex_t> {
        static func create(_ value: Value) -> Storage {
            let buffer = Storage.create(minimumCapacity: 1) { _ in value } as! Storage
            buffer.withUnsafeMutablePointerToElements { mutex in
                mutex.initialize(to: pthread_mutex_t())
                precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
            }
            return buffer
        }

        @inline(__always)
        func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
            try withUnsafeMutablePointers { (value, mutex) throws(Failure) -> Result in
                pthread_mutex_lock(mutex)
                defer { pthread_mutex_unlock(mutex) }
                return try body(&value.pointee)
            }
        }

        deinit {
            withUnsafeMutablePointerToElements { mutex in
                pthread_mutex_destroy(mutex)
                _ = mutex.deinitialize(count: 1)
            }
        }
    }
}

extension Locked: @unchecked Sendable where Value: Sendable {}
