import CGoDispatchABI

/// Stable memory for bytes handed to plugins: everything copied in stays put until the arena dies.
///
/// An invocation's resolved params live in one arena (freed when the step ends); a compiled step's
/// names and literal values live in another (freed with the configuration).
final class ByteArena {
    private var chunks: [UnsafeMutableRawBufferPointer] = []
    private var used = 0
    private let chunkSize: Int

    init(chunkSize: Int = 1024) { self.chunkSize = chunkSize }

    deinit { for chunk in chunks { chunk.deallocate() } }

    /// Copies `bytes` and returns a view of the copy.
    func copy(_ bytes: UnsafeRawBufferPointer) -> gd_str {
        guard bytes.count > 0 else { return gd_str(data: nil, len: 0) }
        if chunks.isEmpty || used + bytes.count > chunks[chunks.count - 1].count {
            chunks.append(.allocate(byteCount: max(chunkSize, bytes.count), alignment: 8))
            used = 0
        }
        let destination = chunks[chunks.count - 1].baseAddress! + used
        destination.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        used += bytes.count
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
