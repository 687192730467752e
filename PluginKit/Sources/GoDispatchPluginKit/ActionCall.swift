import CGoDispatchABI

/// One invocation of an action, with the host functions that act on it.
///
/// Valid only during `invoke`, on the thread that called it; copy what you keep.
public struct ActionCall {
    /// The C handle, for calling host functions the kit does not wrap.
    public let raw: OpaquePointer
    /// The host function table.
    public let host: UnsafePointer<gd_host_api>

    init(raw: OpaquePointer, host: UnsafePointer<gd_host_api>) {
        self.raw = raw
        self.host = host
    }

    /// A resolved parameter, borrowed from the host (valid until `invoke` returns).
    public func rawParam(_ name: String) -> gd_value {
        var out = gd_value()
        _ = withGDString(name) { host.pointee.param(raw, $0, &out) }
        return out
    }

    /// A resolved parameter, copied.
    public func param(_ name: String) -> PluginValue {
        PluginValue(rawParam(name))
    }

    /// A resolved parameter that must be a non-empty string.
    public func requiredString(_ name: String) throws(ActionError) -> String {
        guard case .string(let value) = param(name), !value.isEmpty else {
            throw .invalid("parameter `\(name)` must resolve to a non-empty string")
        }
        return value
    }

    /// A value of the cargo by template path (`payload.text`, `user.id`, …), copied.
    public func cargo(_ path: String) -> PluginValue {
        var out = gd_value()
        _ = withGDString(path) { host.pointee.cargo(raw, $0, &out) }
        return PluginValue(out)
    }

    /// Sets the step's result, readable by later steps as `{{steps.<id>…}}`. `json` is one JSON value.
    public func setResult(json: String) {
        _ = withGDString(json) { host.pointee.set_result(raw, $0) }
    }

    /// Defers this invocation; return ``ActionOutcome/pending`` and finish it with ``Completion/complete(_:)``.
    public func deferCompletion() -> Completion? {
        let ticket = host.pointee.defer(raw)
        return ticket == 0 ? nil : Completion(ticket: ticket, host: host)
    }

    /// Logs through the engine's logger.
    public func log(_ level: gd_log_level, _ message: String, plugin: String) {
        PluginLog.write(level, message, plugin: plugin, host: host)
    }
}

/// Finishes a deferred invocation, once, from any thread.
public struct Completion: Sendable {
    /// The host's ticket for the invocation.
    public let ticket: gd_ticket
    nonisolated(unsafe) let host: UnsafePointer<gd_host_api>

    /// Completes successfully with an optional JSON result, or with an error.
    /// Returns false if the host no longer waits for it (timed out or completed twice).
    @discardableResult
    public func complete(_ result: Result<String?, ActionError>) -> Bool {
        switch result {
        case .success(let json):
            return withGDString(json ?? "") { body in
                host.pointee.complete(ticket, GD_OK.rawValue, body, .empty) == GD_OK.rawValue
            }
        case .failure(let error):
            return withGDString(error.message) { message in
                host.pointee.complete(ticket, error.status, .empty, message) == GD_OK.rawValue
            }
        }
    }
}

/// Logging through the host (a plugin's own swift-log is not bootstrapped by the engine).
public enum PluginLog {
    /// Writes one log line through the host table.
    public static func write(_ level: gd_log_level, _ message: String, plugin: String, host: UnsafePointer<gd_host_api>) {
        withGDString(plugin) { name in
            withGDString(message) { text in host.pointee.log(Int32(level.rawValue), name, text) }
        }
    }
}

extension ActionCall {
    /// A resolved parameter that must be a non-empty string, borrowed without copying.
    public func borrowedString(_ name: String) throws(ActionError) -> gd_str {
        let value = rawParam(name)
        guard value.kind == Int32(GD_VALUE_STRING.rawValue), value.text.len > 0 else {
            throw .invalid("parameter `\(name)` must resolve to a non-empty string")
        }
        return value.text
    }

    /// Builds a message from borrowed parts and hands it to `send`.
    public func withMessage<R>(
        event: gd_str, target: gd_str = .empty, payload: gd_value, flags: UInt32 = 0,
        _ send: (UnsafePointer<gd_message>) -> R
    ) -> R {
        var message = gd_message(
            size: UInt32(MemoryLayout<gd_message>.size), event: event, target: target, payload: payload, flags: flags)
        return send(&message)
    }
}
