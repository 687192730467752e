import CGoDispatchABI
import GoDispatchPluginKit

/// The bundled presence plugin: `_presence` answers who is in a room.
let presencePlugin = PluginDefinition(
    name: "presence",
    version: "1.0.0",
    description: "Who is in a room",
    actions: [presence]
)

/// The plugin's entry symbol (ABI major 1).
@_cdecl("godispatch_plugin_entry_v1")
public func godispatchPluginEntry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    presencePlugin.export(host: host)
}

let presence = ActionDefinition(
    name: "_presence",
    description: "Send the sender `_presence_state` for `room`: {count, users} (presence: full) or {count, connections} (stats)",
    needsOrigin: true,
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["room"])
        try config.require("room")
        return nil
    },
    invoke: { call, _ in
        do throws(ActionError) {
            let room = try call.borrowedString("room")
            let state: gd_str
            switch call.presence(room: room) {
            case .success(let json): state = json
            case .failure(let error) where error.status == GD_ERR_NOT_FOUND.rawValue:
                return .failure(.failed("room \(room.string) keeps no presence (set `presence:` in its `rooms:` rule)"))
            case .failure(let error): return .failure(error)
            }
            let sent = withGDString("_presence_state") { event in
                call.withMessage(
                    event: event, target: room, payload: gd_value(kind: Int32(GD_VALUE_JSON.rawValue), text: state)
                ) { call.host.pointee.send_origin(call.raw, $0) }
            }
            guard sent >= 0 else { return .failure(.failed("could not send the presence state (status \(sent))")) }
            return .ok
        } catch {
            return .failure(error)
        }
    }
)
