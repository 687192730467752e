import CGoDispatchABI
import GoDispatchPluginKit

/// The bundled messaging plugin: `_notify_room`, `_notify_origin`, `_notify_user`, `_log`.
let messagingPlugin = PluginDefinition(
    name: "messaging",
    version: "1.0.0",
    description: "Send messages to rooms, users and the sender; write log lines",
    actions: [notifyRoom, notifyOrigin, notifyUser, logAction]
)

/// The plugin's entry symbol (ABI major 1).
@_cdecl("godispatch_plugin_entry_v1")
public func godispatchPluginEntry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    messagingPlugin.export(host: host)
}

/// What a messaging step keeps from config time.
final class SendStep: Sendable {
    /// Only a step with an `id` can be read by later steps, so only then is a result built.
    let wantsResult: Bool
    init(_ config: StepConfig) { wantsResult = !config.stepID.isEmpty }
}

/// Publishes the result `{"delivered":N}` when a later step may read it.
func reportDelivered(_ count: Int64, call: ActionCall, state: (any StepState)?) {
    if (state as? SendStep)?.wantsResult == true { call.setResult(json: "{\"delivered\":\(count)}") }
}

/// Turns a negative host status into an action failure.
func checkSent(_ count: Int64, what: String) -> ActionError? {
    count < 0 ? .failed("\(what) failed (status \(count))") : nil
}

let notifyRoom = ActionDefinition(
    name: "_notify_room",
    description: "Send {event, payload} to every member of `room` (once-encoded frame shared by all)",
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["room", "event", "payload", "exclude_origin", "allow_non_member"])
        try config.require("room", "event")
        return SendStep(config)
    },
    invoke: { call, state in
        do throws(ActionError) {
            let room = try call.borrowedString("room")
            let event = try call.borrowedString("event")
            if let refusal = nonMemberRefusal(call, room: room) { return .failure(refusal) }
            let flags: UInt32 = call.param("exclude_origin").boolValue == true ? UInt32(GD_SEND_EXCLUDE_ORIGIN) : 0
            let sent = call.withMessage(event: event, target: room, payload: call.rawParam("payload"), flags: flags) {
                call.host.pointee.send_room(call.raw, room, $0)
            }
            if let error = checkSent(sent, what: "_notify_room") { return .failure(error) }
            reportDelivered(sent, call: call, state: state)
            return .ok
        } catch {
            return .failure(error)
        }
    }
)

/// Room guard: a sender must be a member of the room it publishes to, unless the step says
/// `allow_non_member: true`, or names a permission the sender holds (`allow_non_member: "room:{{target}}:announce"`).
func nonMemberRefusal(_ call: ActionCall, room: gd_str) -> ActionError? {
    let member = call.host.pointee.is_member(call.raw, .empty, room)
    // 1: the sender is a member. GD_ERR_NOT_FOUND: there is no sender to guard (a server event, which a
    // backend started; the backend may publish to any room).
    if member == 1 || member == GD_ERR_NOT_FOUND.rawValue { return nil }
    switch call.param("allow_non_member") {
    case .json("true"), .string("true"): return nil
    case .string(let permission):
        let held = withGDString(permission) { call.host.pointee.has_permission(call.raw, .empty, $0) }
        if held == 1 { return nil }
        return .forbidden("sending to \(room.string) requires membership or the permission `\(permission)`")
    default:
        return .forbidden("join \(room.string) before sending to it")
    }
}

let notifyOrigin = ActionDefinition(
    name: "_notify_origin",
    description: "Send {event, payload} back to the connection that sent the message",
    needsOrigin: true,
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["event", "payload", "target"])
        try config.require("event")
        return SendStep(config)
    },
    invoke: { call, state in
        do throws(ActionError) {
            let event = try call.borrowedString("event")
            let target = call.rawParam("target")
            let sent = call.withMessage(event: event, target: target.text, payload: call.rawParam("payload")) {
                call.host.pointee.send_origin(call.raw, $0)
            }
            if let error = checkSent(sent, what: "_notify_origin") { return .failure(error) }
            reportDelivered(sent, call: call, state: state)
            return .ok
        } catch {
            return .failure(error)
        }
    }
)

let notifyUser = ActionDefinition(
    name: "_notify_user",
    description: "Send {event, payload} to every connection of `user`",
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["user", "event", "payload", "target"])
        try config.require("user", "event")
        return SendStep(config)
    },
    invoke: { call, state in
        do throws(ActionError) {
            let user = try call.borrowedString("user")
            let event = try call.borrowedString("event")
            let target = call.rawParam("target")
            let sent = call.withMessage(event: event, target: target.text, payload: call.rawParam("payload")) {
                call.host.pointee.send_user(call.raw, user, $0)
            }
            if let error = checkSent(sent, what: "_notify_user") { return .failure(error) }
            reportDelivered(sent, call: call, state: state)
            return .ok
        } catch {
            return .failure(error)
        }
    }
)

/// The log levels `_log` accepts, by name.
let logLevels: [String: gd_log_level] = [
    "trace": GD_LOG_TRACE, "debug": GD_LOG_DEBUG, "info": GD_LOG_INFO,
    "notice": GD_LOG_NOTICE, "warning": GD_LOG_WARNING, "error": GD_LOG_ERROR,
]

/// The level a `_log` step writes at, fixed at config time.
final class LogStep: Sendable {
    let level: gd_log_level
    init(level: gd_log_level) { self.level = level }
}

let logAction = ActionDefinition(
    name: "_log",
    description: "Write `message` to the engine's log at `level` (default info)",
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["message", "level"])
        try config.require("message")
        if config.templated.contains("level") { throw .invalid("_log `level` must be a literal, not a template") }
        let name = config.literalString("level") ?? "info"
        guard let level = logLevels[name] else {
            throw .invalid("_log `level` is \"\(name)\"; use one of: \(logLevels.keys.sorted().joined(separator: ", "))")
        }
        return LogStep(level: level)
    },
    invoke: { call, state in
        let text: String
        switch call.param("message") {
        case .string(let s), .json(let s): text = s
        case .null: text = ""
        }
        call.log((state as? LogStep)?.level ?? GD_LOG_INFO, text, plugin: "messaging")
        return .ok
    }
)
