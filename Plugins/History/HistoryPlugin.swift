import CGoDispatchABI
import GoDispatchPluginKit

/// The bundled history plugin: `_history`, the newest frames of a room that keeps history.
let historyPlugin = PluginDefinition(
    name: "history",
    version: "1.0.0",
    description: "Send the sender the newest frames of a room that keeps history",
    actions: [history]
)

/// The plugin's entry symbol (ABI major 1).
@_cdecl("godispatch_plugin_entry_v1")
public func godispatchPluginEntry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    historyPlugin.export(host: host)
}

let history = ActionDefinition(
    name: "_history",
    description:
        "Send the sender `_history` with the room's offset, epoch and newest `limit` frames (all held when absent)",
    needsOrigin: true,
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["room", "limit"])
        try config.require("room")
        return nil
    },
    invoke: { call, _ in
        do throws(ActionError) {
            let room = try call.borrowedString("room")
            var limit: Int?
            switch call.param("limit") {
            case .null: limit = nil
            case let value:
                guard let number = value.intValue, number >= 0 else {
                    throw .invalid("`limit` must be a whole number of frames, 0 or more")
                }
                limit = number
            }
            guard call.hostHasHistory else { return .failure(.failed("this engine has no history (ABI 1.2 needed)")) }
            let sent = call.sendHistory(room: room, limit: limit)
            if sent == Int64(GD_ERR_NOT_FOUND.rawValue) {
                return .failure(.invalid("room \(room.string) keeps no history (no `rooms:` rule with `history:`)"))
            }
            guard sent >= 0 else { return .failure(.failed("_history failed (status \(sent))")) }
            return .ok
        } catch {
            return .failure(error)
        }
    }
)
