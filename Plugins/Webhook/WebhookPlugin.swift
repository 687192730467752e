import CGoDispatchABI
import GoDispatchPluginKit

#if canImport(Glibc)
import Glibc
#endif

/// The bundled webhook plugin: `_webhook`, POSTing the message to a backend through the host's HTTP
/// client (`http_request`, ABI 1.1), signed, in `notify` or `call` mode.
let webhookPlugin = PluginDefinition(
    name: "webhook",
    version: "1.0.0",
    description: "Call a backend over HTTP: fire-and-forget with retries, or wait for its answer",
    actions: [webhook]
)

/// The plugin's entry symbol (ABI major 1).
@_cdecl("godispatch_plugin_entry_v1")
public func godispatchPluginEntry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    webhookPlugin.export(host: host)
}

/// What a `_webhook` step fixes at load time.
final class WebhookStep: @unchecked Sendable {
    enum Mode: String { case notify, call }
    let mode: Mode
    let timeoutMilliseconds: UInt32
    let attempts: UInt32
    /// The step's `secret`, else `plugins.settings.webhook.secret`, else nil (unsigned).
    let staticSecret: String?

    init(mode: Mode, timeoutMilliseconds: UInt32, attempts: UInt32, staticSecret: String?) {
        self.mode = mode
        self.timeoutMilliseconds = timeoutMilliseconds
        self.attempts = attempts
        self.staticSecret = staticSecret
    }
}

/// Parses `500ms`, `5s` or a number of milliseconds.
func milliseconds(_ value: PluginValue) -> UInt32? {
    switch value {
    case .json(let number): return UInt32(number)
    case .string(let text) where text.hasSuffix("ms"): return UInt32(text.dropLast(2))
    case .string(let text) where text.hasSuffix("s"): return UInt32(text.dropLast()).map { $0 * 1000 }
    default: return nil
    }
}

let webhook = ActionDefinition(
    name: "_webhook",
    description: "POST the message to `url` (signed); mode notify (retries) or call (result in {{steps.<id>.response}})",
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["url", "headers", "mode", "timeout", "retries", "secret"])
        try config.require("url")
        if let url = config.literalString("url"), !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw .invalid("_webhook `url` must start with http:// or https://")
        }
        for name in ["mode", "timeout", "retries", "secret"] where config.templated.contains(name) {
            throw .invalid("_webhook `\(name)` must be a literal, not a template")
        }
        let modeText = config.literalString("mode") ?? "notify"
        guard let mode = WebhookStep.Mode(rawValue: modeText) else {
            throw .invalid("_webhook `mode` is \"\(modeText)\"; use notify or call")
        }
        var timeout: UInt32 = 5000
        if let value = config.params["timeout"] {
            guard let parsed = milliseconds(value), parsed > 0 else {
                throw .invalid("_webhook `timeout` must be a duration like 500ms or 5s")
            }
            timeout = parsed
        }
        var retries: UInt32 = mode == .notify ? 3 : 0
        if let value = config.params["retries"] {
            guard let parsed = value.intValue, (0...10).contains(parsed) else {
                throw .invalid("_webhook `retries` must be a whole number from 0 to 10")
            }
            retries = UInt32(parsed)
        }
        if let headers = config.params["headers"], !config.templated.contains("headers") {
            guard case .json(let text) = headers, FlatJSONObject.parse(text) != nil else {
                throw .invalid("_webhook `headers` must be a mapping of header names to values")
            }
        }
        let settings = config.pluginSettings.flatMap(FlatJSONObject.parse)
        let secret = config.literalString("secret") ?? settings?["secret"]?.stringValue
        return WebhookStep(mode: mode, timeoutMilliseconds: timeout, attempts: retries + 1, staticSecret: secret)
    },
    invoke: { call, state in
        guard let step = state as? WebhookStep else { return .failure(.failed("_webhook was not instantiated")) }
        guard GD_HOST_HAS_http_request(call.host) else {
            return .failure(.failed("this engine has no HTTP client (plugin ABI 1.1 needed)"))
        }
        let url: String
        do throws(ActionError) { url = try call.requiredString("url") } catch { return .failure(error) }
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        if case .json(let text) = call.param("headers"), let map = FlatJSONObject.parse(text) {
            for (name, value) in map.sorted(by: { $0.key < $1.key }) {
                if case .string(let text) = value { headers.append((name, text)) }
            }
        }
        let body = document(call)
        let delivery = Delivery(host: call.host, url: url, mode: step.mode, completion: nil)
        if step.mode == .call {
            guard let completion = call.deferCompletion() else { return .failure(.failed("could not defer")) }
            delivery.completion = completion
        }
        let status = send(
            call.host, url: url, headers: headers, body: body, step: step, delivery: delivery)
        guard status == GD_OK.rawValue else {
            delivery.completion?.complete(.failure(.failed("the host refused the request (status \(status))")))
            return step.mode == .call ? .pending : .failure(.failed("the host refused the request (status \(status))"))
        }
        if step.mode == .notify { call.setResult(json: #"{"queued":true}"#) }
        return step.mode == .call ? .pending : .ok
    }
)

/// `GD_HOST_HAS(host, http_request)`: the host table is new enough for HTTP callouts.
func GD_HOST_HAS_http_request(_ host: UnsafePointer<gd_host_api>) -> Bool {
    let offset = MemoryLayout<gd_host_api>.offset(of: \.http_request) ?? Int.max
    return Int(host.pointee.size) >= offset + MemoryLayout<UnsafeRawPointer>.size
}

/// The JSON document a webhook receives.
func document(_ call: ActionCall) -> String {
    func json(_ value: PluginValue) -> String {
        switch value {
        case .null: return "null"
        case .string(let text): return JSONString.quote(text)
        case .json(let text): return text
        }
    }
    let fields = [
        "\"event\":" + json(call.cargo("event")),
        "\"target\":" + json(call.cargo("target")),
        "\"payload\":" + json(call.cargo("payload")),
        "\"user\":{\"id\":" + json(call.cargo("user.id")) + ",\"perms\":" + json(call.cargo("user.perms")) + "}",
        "\"connection_id\":" + json(call.cargo("connection.id")),
        "\"message_id\":" + json(call.cargo("message.id")),
        "\"timestamp\":" + String(Int(time(nil))),
    ]
    return "{" + fields.joined(separator: ",") + "}"
}

/// One delivery's context, kept alive until the host's callback.
final class Delivery: @unchecked Sendable {
    let host: UnsafePointer<gd_host_api>
    let url: String
    let mode: WebhookStep.Mode
    var completion: Completion?

    init(host: UnsafePointer<gd_host_api>, url: String, mode: WebhookStep.Mode, completion: Completion?) {
        self.host = host
        self.url = url
        self.mode = mode
        self.completion = completion
    }

    /// The answer (or the failure) arrived: log it (notify) or finish the step (call).
    func finish(status: Int32, httpStatus: Int, body: String, error: String) {
        let answered = status == GD_OK.rawValue
        switch mode {
        case .notify:
            if !answered || httpStatus >= 300 {
                let reason = answered ? "answered \(httpStatus)" : error
                PluginLog.write(GD_LOG_WARNING, "webhook delivery to \(url) failed: \(reason)", plugin: "webhook", host: host)
            }
        case .call:
            guard answered else { return _ = completion?.complete(.failure(.failed(error))) }
            guard (200..<300).contains(httpStatus) else {
                return _ = completion?.complete(.failure(.failed("\(url) answered \(httpStatus)")))
            }
            let trimmed = body.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
            let object = trimmed.first == "{" ? FlatJSONObject.parse(body) : nil
            if let reason = object?["deny"]?.stringValue {
                return _ = completion?.complete(.failure(.forbidden(reason)))
            }
            let response: String
            if trimmed.isEmpty {
                response = "null"
            } else if trimmed.first == "{" || trimmed.first == "[" {
                guard object != nil || trimmed.first == "[" else {
                    return _ = completion?.complete(.failure(.failed("\(url) answered with malformed JSON")))
                }
                response = body
            } else {
                response = JSONString.quote(body)
            }
            completion?.complete(.success("{\"status\":\(httpStatus),\"response\":\(response)}"))
        }
    }
}

/// Hands the request to the host; the callback releases the delivery.
func send(
    _ host: UnsafePointer<gd_host_api>, url: String, headers: [(String, String)], body: String, step: WebhookStep,
    delivery: Delivery
) -> Int32 {
    let context = Unmanaged.passRetained(delivery).toOpaque()
    let allHeaders = headers
    let status: Int32 = withGDString("POST") { method in
        withGDString(url) { cURL in
            withGDString(body) { cBody in
                withGDString(step.staticSecret ?? "") { secret in
                    withHeaderArray(allHeaders) { headerPointer, headerCount in
                        var request = gd_http_request(
                            size: UInt32(MemoryLayout<gd_http_request>.size), method: method, url: cURL,
                            headers: headerPointer, header_count: headerCount, body: cBody,
                            timeout_ms: step.timeoutMilliseconds, max_attempts: step.attempts, backoff_ms: 200,
                            signing_secret: secret)
                        return host.pointee.http_request(&request, webhookCallback, context)
                    }
                }
            }
        }
    }
    if status != GD_OK.rawValue { Unmanaged<Delivery>.fromOpaque(context).release() }
    return status
}

/// Borrowed `gd_http_header`s for `headers`, valid during `body`.
func withHeaderArray<R>(_ headers: [(String, String)], _ body: (UnsafePointer<gd_http_header>?, Int) -> R) -> R {
    let flat = headers.flatMap { [$0.0, $0.1] }
    var storage = flat.map { Array($0.utf8) }
    return storage.withUnsafeMutableBufferPointer { buffers in
        var strings: [gd_str] = []
        for index in buffers.indices {
            let base = buffers[index].withUnsafeMutableBufferPointer { $0.baseAddress }
            strings.append(gd_str(data: base.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, len: buffers[index].count))
        }
        var pairs: [gd_http_header] = []
        for index in stride(from: 0, to: strings.count, by: 2) {
            pairs.append(gd_http_header(name: strings[index], value: strings[index + 1]))
        }
        return pairs.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
    }
}

private let webhookCallback: gd_http_callback = { context, status, httpStatus, body, error in
    guard let context else { return }
    let delivery = Unmanaged<Delivery>.fromOpaque(context).takeRetainedValue()
    delivery.finish(status: status, httpStatus: Int(httpStatus), body: body.string, error: error.string)
}
