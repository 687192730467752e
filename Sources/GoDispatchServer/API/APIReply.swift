import GoDispatchCore

/// What one API call answers: a result, an error, or (for `batch`) replies at the top level, as
/// Centrifugo's clients expect them.
enum APIReply: Sendable {
    /// `{"result": …}` with these JSON bytes.
    case result([UInt8])
    /// `{"error": {"code","message","reason"}}`.
    case error(APIError)
    /// `{"replies": […]}` with these JSON bytes (the list).
    case replies([UInt8])

    /// A result built from a value.
    static func result(_ value: JSONValue) -> APIReply {
        var writer = JSONWriter()
        writer.write(value)
        return .result(writer.bytes)
    }

    /// `{}`.
    static let empty = APIReply.result(Array("{}".utf8))

    /// The whole response body.
    var body: [UInt8] {
        var writer = JSONWriter()
        switch self {
        case .result(let bytes):
            writer.writeASCII("{\"result\":")
            writer.writeRaw(bytes)
        case .error(let error):
            writer.writeASCII("{\"error\":")
            error.write(to: &writer)
        case .replies(let bytes):
            writer.writeASCII("{\"replies\":")
            writer.writeRaw(bytes)
        }
        writer.writeASCII("}")
        return writer.bytes
    }

    /// `ok` or `error`, for metrics.
    var outcome: String {
        if case .error = self { return "error" }
        return "ok"
    }
}
