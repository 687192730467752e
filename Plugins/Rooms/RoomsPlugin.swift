import CGoDispatchABI
import GoDispatchPluginKit

/// The bundled rooms plugin: `_join` and `_leave` for the sending connection.
let roomsPlugin = PluginDefinition(
    name: "rooms",
    version: "1.0.0",
    description: "Join and leave rooms",
    actions: [join, leave]
)

/// The plugin's entry symbol (ABI major 1).
@_cdecl("godispatch_plugin_entry_v1")
public func godispatchPluginEntry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    roomsPlugin.export(host: host)
}

/// Checks a `_leave` step's params at config time.
func instantiateRoomStep(_ config: StepConfig) throws(ActionError) -> (any StepState)? {
    try config.allowOnly(["room"])
    try config.require("room")
    return nil
}

/// A `_join` step: whether it has a `since` param (then, in a room with history, the joiner gets `_joined`).
final class JoinStep: Sendable {
    let recovers: Bool
    init(recovers: Bool) { self.recovers = recovers }
}

let join = ActionDefinition(
    name: "_join",
    description:
        "Add the sending connection to `room` (created on first join); `permission` guards it; with a `since` param, "
        + "in a room with history, it gets `_joined`, recovering the frames after `since` ({offset, epoch}) when it can",
    needsOrigin: true,
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["room", "permission", "since"])
        try config.require("room")
        return JoinStep(recovers: config.params["since"] != nil)
    },
    invoke: { call, state in
        do throws(ActionError) {
            let room = try call.borrowedString("room")
            if call.param("permission") != .null {
                let permission = try call.borrowedString("permission")
                let held = call.host.pointee.has_permission(call.raw, .empty, permission)
                guard held == 1 else {
                    return .failure(.forbidden("joining \(room.string) requires the permission `\(permission.string)`"))
                }
            }
            // A step without `since` does no recovery: a plain join, no `_joined`.
            let recovers = (state as? JoinStep)?.recovers == true
            let since: String
            switch call.param("since") {
            case .null: since = ""
            case .string(let text), .json(let text): since = text
            }
            let status = recovers ? call.joinSince(room: room, sinceJSON: since) : call.host.pointee.join(call.raw, room)
            if status == GD_ERR_INVALID.rawValue, !since.isEmpty {
                return .failure(.invalid("`since` must be {\"offset\": <integer>, \"epoch\": \"<text>\"}"))
            }
            if status == GD_ERR_FORBIDDEN.rawValue {
                return .failure(.forbidden("room limit reached: leave a room before joining another"))
            }
            if status == GD_ERR_INVALID.rawValue { return .failure(.invalid("room names must be 1 to 256 bytes")) }
            if status == GD_ERR_ROOM_FULL.rawValue {
                return .failure(.roomFull("room \(room.string) is full (its rule's max_members)"))
            }
            guard status == GD_OK.rawValue else { return .failure(.failed("could not join room (status \(status))")) }
            return .ok
        } catch {
            return .failure(error)
        }
    }
)

let leave = ActionDefinition(
    name: "_leave",
    description: "Remove the sending connection from `room`",
    needsOrigin: true,
    instantiate: instantiateRoomStep,
    invoke: { call, _ in
        do throws(ActionError) {
            let room = try call.borrowedString("room")
            let status = call.host.pointee.leave(call.raw, room)
            if status == GD_ERR_NOT_FOUND.rawValue { return .failure(.failed("not a member of room \(room.string)")) }
            guard status == GD_OK.rawValue else { return .failure(.failed("could not leave room (status \(status))")) }
            return .ok
        } catch {
            return .failure(error)
        }
    }
)
