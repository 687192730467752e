/// The frames history sends to one connection: `_joined` (after a join with history) and `_history`.
enum HistoryFrames {
    /// `{"event":"_joined","target":room,"payload":{"offset","epoch","recovered","publications":[…]}}`, with
    /// `"ref"` when it answers a message that had an `id`.
    static func joined(
        room: String, position: StreamPosition, recovered: ArraySlice<StoredPublication>?, presence: [UInt8]? = nil,
        ref: ArraySlice<UInt8>? = nil
    ) -> OutboundFrame {
        frame(
            event: "_joined", room: room, position: position, recovered: recovered != nil, publications: recovered ?? [],
            presence: presence, ref: ref)
    }

    /// `{"event":"_history","target":room,"payload":{"offset","epoch","publications":[…]}}`, with `"ref"` when
    /// it answers a message that had an `id`.
    static func history(
        room: String, position: StreamPosition, publications: ArraySlice<StoredPublication>, ref: ArraySlice<UInt8>? = nil
    ) -> OutboundFrame {
        frame(event: "_history", room: room, position: position, recovered: nil, publications: publications, ref: ref)
    }

    private static func frame(
        event: StaticString, room: String, position: StreamPosition, recovered: Bool?, publications: ArraySlice<StoredPublication>,
        presence: [UInt8]? = nil, ref: ArraySlice<UInt8>?
    ) -> OutboundFrame {
        var writer = JSONWriter(capacity: 96 + room.utf8.count + publications.reduce(0) { $0 + $1.frame.bytes.count + 1 })
        writer.writeASCII("{\"event\":\"")
        writer.writeASCII(event)
        writer.writeASCII("\",\"target\":")
        writer.writeString(room)
        writer.writeASCII(",\"payload\":{\"offset\":")
        writer.writeRaw(String(position.offset).utf8)
        writer.writeASCII(",\"epoch\":")
        writer.writeString(position.epoch)
        if let recovered { writer.writeASCII(recovered ? ",\"recovered\":true" : ",\"recovered\":false") }
        writer.writeASCII(",\"publications\":[")
        for (index, publication) in publications.enumerated() {
            if index > 0 { writer.writeASCII(",") }
            writer.writeRaw(publication.frame.bytes)
        }
        writer.writeASCII("]")
        if let presence {
            writer.writeASCII(",\"presence\":")
            writer.writeRaw(presence)
        }
        writer.writeASCII("}")
        if let ref {
            writer.writeASCII(",\"ref\":")
            writer.writeRaw(ref)
        }
        writer.writeASCII("}")
        return OutboundFrame(bytes: writer.bytes)
    }
}
