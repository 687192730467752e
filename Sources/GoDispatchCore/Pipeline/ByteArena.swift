import CGoDispatchABI

/// Stable memory for bytes handed to plugins: everything copied in stays put until the arena dies.
///
/// An invocation's resolved params live in one arena (freed when the step ends); a compiled step's
/// names and literal values live in another (freed with the configuration).
///
/// The chunk being filled is kept apart from the full ones, so an arena that needs one chunk (an
/// invocation's, nearly always) costs one allocation besides itself.
final class ByteArena {
    /// The chunk being filled.
    private var current = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// Chunks filled before `current`.
    private var full: [UnsafeMutableRawBufferPointer] = []
    private var used = 0
    private let chunkSize: Int

    init(chunkSize: Int = 1024) { self.chunkSize = chunkSize }

    deinit {
        current.deallocate()
        for chunk in full { chunk.deallocate() }
    }

    /// `count` bytes aligned to `alignment` (at most 16), valid until the arena dies.
    private func reserve(_ count: Int, alignment: Int = 1) -> UnsafeMutableRawPointer {
        var start = (used + alignment - 1) & ~(alignment - 1)
        if current.baseAddress == nil || start + count > current.count {
            if current.baseAddress != nil { full.append(current) }
            current = .allocate(byteCount: max(chunkSize, count), alignment: 16)
            start = 0
        }
        used = start + count
        return current.baseAddress! + start
    }

    /// Room for `count` values of a trivial type `T` (uninitialized), valid until the arena dies.
    func allocate<T: BitwiseCopyable>(_ type: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
        let raw = reserve(MemoryLayout<T>.stride * count, alignment: MemoryLayout<T>.alignment)
        return UnsafeMutableBufferPointer(start: raw.bindMemory(to: T.self, capacity: count), count: count)
    }

    /// Copies `bytes` and returns a view of the copy.
    func copy(_ bytes: UnsafeRawBufferPointer) -> gd_str {
        guard bytes.count > 0 else { return gd_str(data: nil, len: 0) }
        let destination = reserve(bytes.count)
        destination.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        return gd_str(data: destination.assumingMemoryBound(to: CChar.self), len: bytes.count)
    }

    /// Copies an array's bytes.
    func copy(_ bytes: [UInt8]) -> gd_str { bytes.withUnsafeBytes { copy($0) } }

    /// Copies a string's UTF-8.
    func copy(_ text: String) -> gd_str {
        var text = text
        return text.withUTF8 { copy(UnsafeRawBufferPointer($0)) }
    }
}
