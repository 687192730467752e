/// Reads structs that plugins hand the host and that start with their own `size`.
///
/// A minor ABI version may append fields, so a plugin's struct can be smaller than the host's (built
/// against an older minor) or larger (a newer one). The host accepts any struct at least as large as
/// the layout of the minor that introduced it (`GD_*_SIZE_1_x` in the header), reads only the bytes the
/// plugin declared, and sees the fields the plugin did not have as zero.
enum VersionedStruct {
    /// A copy of `*pointer`, whose first four bytes are its size; nil if that size is below `minimum`.
    static func read<T>(_ pointer: UnsafePointer<T>, minimum: Int) -> T? {
        let declared = Int(UnsafeRawPointer(pointer).loadUnaligned(as: UInt32.self))
        guard declared >= minimum else { return nil }
        return withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: min(declared, MemoryLayout<T>.size)))
            return raw.load(as: T.self)
        }
    }
}
