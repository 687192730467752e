/// One frame a room's stream holds: the frame exactly as its members received it.
public struct StoredPublication: Sendable {
    /// Its offset in the stream.
    public let offset: UInt64
    /// When it was published (judged by ``EngineServices/clock``), for `ttl`.
    let publishedAt: ContinuousClock.Instant
    /// The frame as sent, `offset` and `epoch` included.
    public let frame: OutboundFrame

    /// A frame held elsewhere (the cluster broker's stream) at `offset`.
    public init(offset: UInt64, frame: OutboundFrame) {
        self.offset = offset
        self.publishedAt = .now
        self.frame = frame
    }

    init(offset: UInt64, publishedAt: ContinuousClock.Instant, frame: OutboundFrame) {
        self.offset = offset
        self.publishedAt = publishedAt
        self.frame = frame
    }

    /// The frame's `event`, `payload` (JSON text, nil when absent) and `from` (nil when absent), read
    /// from the stored frame (for the backend API; not a hot path).
    public var parts: (event: String, payloadJSON: ArraySlice<UInt8>?, from: String?) {
        frame.bytes.withUnsafeBytes { bytes in
            let reader = JSONReader(bytes)
            func member(_ key: StaticString) -> Range<Int>? {
                reader.member(ofObjectAt: 0, key: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            }
            func text(_ range: Range<Int>?) -> String? {
                guard let range, case .string(let text) = reader.value(in: range) else { return nil }
                return text
            }
            let payload = member("payload").map { frame.bytes[$0] }
            return (text(member("event")) ?? "", payload, text(member("from")))
        }
    }
}
