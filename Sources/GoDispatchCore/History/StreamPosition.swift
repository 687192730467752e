/// A place in a room's stream: the offset of a frame within one epoch (one incarnation of the stream).
///
/// Offsets start at 1 per epoch and grow by one per frame; an epoch is random per stream, so a
/// restarted server (or a dropped and re-created stream) never looks like a continuation.
public struct StreamPosition: Sendable, Equatable {
    /// The offset of the newest frame (0 before the first).
    public var offset: UInt64
    /// The stream's incarnation.
    public var epoch: String

    /// A position.
    public init(offset: UInt64, epoch: String) {
        self.offset = offset
        self.epoch = epoch
    }

    /// Reads `{"offset": n, "epoch": "e"}` (other members ignored); nil if it is anything else.
    public init?(json bytes: UnsafeRawBufferPointer) {
        guard let range = try? JSONReader(bytes).validate(),
            case .object(let members) = JSONReader(bytes).value(in: range)
        else { return nil }
        var offset: UInt64?
        var epoch: String?
        for (key, value) in members {
            switch (key, value) {
            case ("offset", .number(let text)): offset = UInt64(text)
            case ("epoch", .string(let text)): epoch = text
            default: continue
            }
        }
        guard let offset, let epoch else { return nil }
        self.init(offset: offset, epoch: epoch)
    }

    /// A new random epoch: 64 bits as 16 hex digits.
    public static func makeEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
