import CGoDispatchABI
import GoDispatchPluginKit

/// The bundled permissions plugin: `_set_permissions` and `_disconnect`.
let permissionsPlugin = PluginDefinition(
    name: "permissions",
    version: "1.0.0",
    description: "Change users' live permissions; disconnect users or connections",
    actions: [setPermissions, disconnect]
)

/// The plugin's entry symbol (ABI major 1).
@_cdecl("godispatch_plugin_entry_v1")
public func godispatchPluginEntry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    permissionsPlugin.export(host: host)
}

/// Calls `body` with the permissions as a borrowed `gd_str` array.
func withPermissionArray<R>(_ permissions: [String], _ body: (UnsafePointer<gd_str>?, Int) -> R) -> R {
    var storage = permissions.map { Array($0.utf8) }
    return storage.withUnsafeMutableBufferPointer { buffers in
        var views: [gd_str] = []
        views.reserveCapacity(buffers.count)
        for index in buffers.indices {
            let base = buffers[index].withUnsafeMutableBufferPointer { $0.baseAddress }
            views.append(gd_str(data: base.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, len: buffers[index].count))
        }
        return views.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
    }
}

let setPermissions = ActionDefinition(
    name: "_set_permissions",
    description: "Change a connected user's live permissions (`user`; `set`, `add` and/or `remove` lists)",
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["user", "set", "add", "remove"])
        try config.require("user")
        guard ["set", "add", "remove"].contains(where: { config.params[$0] != nil }) else {
            throw .invalid("_set_permissions needs at least one of `set`, `add`, `remove`")
        }
        for name in ["set", "add", "remove"] where config.params[name] != nil && !config.templated.contains(name) {
            guard config.params[name]?.stringList != nil else {
                throw .invalid("_set_permissions `\(name)` must be a list of strings, e.g. [chat:write]")
            }
        }
        return nil
    },
    invoke: { call, _ in
        do throws(ActionError) {
            let user = try call.borrowedString("user")
            // `set` first, then `add`, then `remove`: one step can reset and adjust.
            let operations: [(String, gd_permission_op)] = [
                ("set", GD_PERMISSIONS_SET), ("add", GD_PERMISSIONS_ADD), ("remove", GD_PERMISSIONS_REMOVE),
            ]
            for (name, op) in operations {
                let value = call.param(name)
                if value == .null { continue }
                guard let list = value.stringList else {
                    throw .invalid("`\(name)` must resolve to a list of strings")
                }
                let status = withPermissionArray(list) { pointer, count in
                    call.host.pointee.set_permissions(call.raw, user, Int32(op.rawValue), pointer, count)
                }
                if status == GD_ERR_NOT_FOUND.rawValue { throw .failed("user \(user.string) is not connected") }
                guard status == GD_OK.rawValue else { throw .failed("set_permissions failed (status \(status))") }
            }
            return .ok
        } catch {
            return .failure(error)
        }
    }
)

let disconnect = ActionDefinition(
    name: "_disconnect",
    description: "Close every connection of `user`, or one `connection`, with `code` (default 4000) and `reason`",
    instantiate: { config throws(ActionError) in
        try config.allowOnly(["user", "connection", "code", "reason"])
        guard (config.params["user"] == nil) != (config.params["connection"] == nil) else {
            throw .invalid("_disconnect needs exactly one of `user` or `connection`")
        }
        if !config.templated.contains("code"), let code = config.params["code"], code != .null {
            guard let value = code.intValue, (4000...4999).contains(value) || value == 1000 || value == 1008 else {
                throw .invalid("_disconnect `code` must be 1000, 1008 or an application code 4000-4999")
            }
        }
        return nil
    },
    invoke: { call, _ in
        do throws(ActionError) {
            let byUser = call.param("user") != .null
            let id = try call.borrowedString(byUser ? "user" : "connection")
            let code = UInt16(clamping: call.param("code").intValue ?? 4000)
            let reason = call.param("reason").stringValue ?? "disconnected by the server"
            let closed = withGDString(reason) { text in
                call.host.pointee.disconnect(
                    call.raw, Int32(byUser ? GD_DISCONNECT_USER.rawValue : GD_DISCONNECT_CONNECTION.rawValue), id, code,
                    text)
            }
            guard closed >= 0 else { throw .failed("disconnect failed (status \(closed))") }
            call.setResult(json: "{\"closed\":\(closed)}")
            return .ok
        } catch {
            return .failure(error)
        }
    }
)
