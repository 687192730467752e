import CGoDispatchABI
import Logging
import Synchronization

/// The `gd_host_api` table handed to every plugin: the only way plugins reach the engine.
///
/// Built once per process and never freed. Functions that take a `gd_call` check it is still active
/// (inside its `invoke`) and answer GD_ERR_STALE otherwise.
enum HostTable {
    /// The logger plugins write to; the engine sets it at start-up.
    static let pluginLogger = Mutex(Logger(label: "godispatch.plugin"))
    /// The HTTP client behind `http_request`; the server layer installs it.
    static let httpCallout = Mutex<(any HTTPCallout)?>(nil)

    /// The table (process lifetime).
    nonisolated(unsafe) static let shared: UnsafePointer<gd_host_api> = {
        let table = UnsafeMutablePointer<gd_host_api>.allocate(capacity: 1)
        table.initialize(
            to: gd_host_api(
                size: UInt32(MemoryLayout<gd_host_api>.size),
                abi_major: UInt16(GD_ABI_MAJOR),
                abi_minor: UInt16(GD_ABI_MINOR),
                log: hostLog,
                param: hostParam,
                param_count: hostParamCount,
                param_at: hostParamAt,
                cargo: hostCargo,
                send_origin: hostSendOrigin,
                send_connection: hostSendConnection,
                send_user: hostSendUser,
                send_room: hostSendRoom,
                join: hostJoin,
                leave: hostLeave,
                has_permission: hostHasPermission,
                set_permissions: hostSetPermissions,
                disconnect: hostDisconnect,
                set_result: hostSetResult,
                defer: hostDefer,
                complete: hostComplete,
                is_member: hostIsMember,
                http_request: hostHTTPRequest
            ))
        return UnsafePointer(table)
    }()
}

// MARK: - Helpers

private let ok = GD_OK.rawValue
private let stale = GD_ERR_STALE.rawValue
private let notFound = GD_ERR_NOT_FOUND.rawValue
private let invalid = GD_ERR_INVALID.rawValue

extension gd_str {
    /// The bytes, borrowed.
    var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : len) }
}

private func nullValue() -> gd_value { gd_value(kind: Int32(GD_VALUE_NULL.rawValue), text: gd_str(data: nil, len: 0)) }

/// Encodes a message's payload as JSON bytes (strings quoted, null omitted).
private func payloadJSON(_ value: gd_value) -> [UInt8]? {
    switch value.kind {
    case Int32(GD_VALUE_STRING.rawValue):
        var writer = JSONWriter(capacity: value.text.len + 2)
        writer.writeString(utf8: value.text.raw)
        return writer.bytes
    case Int32(GD_VALUE_JSON.rawValue): return Array(value.text.raw)
    default: return nil
    }
}

/// Builds the frame for a message: once, whatever the number of recipients.
private func frame(_ message: UnsafePointer<gd_message>?, target override: gd_str?, from: String) -> OutboundFrame? {
    guard let message, message.pointee.event.len > 0 else { return nil }
    let m = message.pointee
    let target = override ?? m.target
    if m.payload.kind == Int32(GD_VALUE_JSON.rawValue) {
        return FrameEncoder.message(event: m.event.raw, target: target.raw, payloadJSON: m.payload.text.raw, from: from)
    }
    let payload = payloadJSON(m.payload)
    return payload.withOptionalBytes {
        FrameEncoder.message(event: m.event.raw, target: target.raw, payloadJSON: $0, from: from)
    }
}

extension Optional where Wrapped == [UInt8] {
    fileprivate func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let bytes): return bytes.withUnsafeBytes { body($0) }
        }
    }
}

// MARK: - Functions of the table

private let hostLog: @convention(c) (Int32, gd_str, gd_str) -> Void = { level, plugin, message in
    let logLevel: Logger.Level =
        switch level {
        case Int32(GD_LOG_TRACE.rawValue): .trace
        case Int32(GD_LOG_DEBUG.rawValue): .debug
        case Int32(GD_LOG_INFO.rawValue): .info
        case Int32(GD_LOG_NOTICE.rawValue): .notice
        case Int32(GD_LOG_WARNING.rawValue): .warning
        default: .error
        }
    let logger = HostTable.pluginLogger.withLock { $0 }
    logger.log(level: logLevel, "\(message.string)", metadata: ["plugin": "\(plugin.string)"])
}

private let hostParam: @convention(c) (OpaquePointer?, gd_str, UnsafeMutablePointer<gd_value>?) -> Int32 = {
    call, name, out in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    for param in invocation.params where param.name.len == name.len && param.name.raw.elementsEqual(name.raw) {
        out?.pointee = param.value
        return ok
    }
    out?.pointee = nullValue()
    return notFound
}

private let hostParamCount: @convention(c) (OpaquePointer?) -> Int = { call in
    ActionInvocation.active(call)?.step.params.count ?? 0
}

private let hostParamAt: @convention(c) (OpaquePointer?, Int, UnsafeMutablePointer<gd_param>?) -> Int32 = {
    call, index, out in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    guard index >= 0, index < invocation.step.params.count else { return notFound }
    out?.pointee = invocation.params[index]
    return ok
}

private let hostCargo: @convention(c) (OpaquePointer?, gd_str, UnsafeMutablePointer<gd_value>?) -> Int32 = {
    call, path, out in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    guard let reference = try? TemplateReference.parse(path.string) else {
        out?.pointee = nullValue()
        return invalid
    }
    out?.pointee = invocation.run.cargo.resolve(reference).cValue(in: invocation.arena)
    return ok
}

private let hostSendOrigin: @convention(c) (OpaquePointer?, UnsafePointer<gd_message>?) -> Int64 = { call, message in
    guard let invocation = ActionInvocation.active(call) else { return Int64(stale) }
    guard let frame = frame(message, target: nil, from: invocation.origin.user.id) else { return Int64(invalid) }
    invocation.origin.transport.send(frame)
    return 1
}

private let hostSendConnection: @convention(c) (OpaquePointer?, gd_str, UnsafePointer<gd_message>?) -> Int64 = {
    call, id, message in
    guard let invocation = ActionInvocation.active(call) else { return Int64(stale) }
    guard let connection = invocation.run.services.state.connection(id: id.string) else { return Int64(notFound) }
    guard let frame = frame(message, target: nil, from: invocation.origin.user.id) else { return Int64(invalid) }
    connection.transport.send(frame)
    return 1
}

private let hostSendUser: @convention(c) (OpaquePointer?, gd_str, UnsafePointer<gd_message>?) -> Int64 = {
    call, user, message in
    guard let invocation = ActionInvocation.active(call) else { return Int64(stale) }
    guard let frame = frame(message, target: nil, from: invocation.origin.user.id) else { return Int64(invalid) }
    let connections = invocation.run.services.state.user(id: user.string)?.connections ?? []
    invocation.run.services.fanOut.deliver(frame, to: connections)
    return Int64(connections.count)
}

private let hostSendRoom: @convention(c) (OpaquePointer?, gd_str, UnsafePointer<gd_message>?) -> Int64 = {
    call, room, message in
    guard let invocation = ActionInvocation.active(call) else { return Int64(stale) }
    guard room.len > 0, let frame = frame(message, target: room, from: invocation.origin.user.id) else {
        return Int64(invalid)
    }
    var members = invocation.run.services.state.members(ofRoom: room.string)
    if let flags = message?.pointee.flags, flags & UInt32(GD_SEND_EXCLUDE_ORIGIN) != 0 {
        let origin = invocation.origin
        members.removeAll { $0 === origin }
    }
    invocation.run.services.fanOut.deliver(frame, to: members)
    return Int64(members.count)
}

private let hostJoin: @convention(c) (OpaquePointer?, gd_str) -> Int32 = { call, room in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    let limits = invocation.run.services.limits
    guard room.len > 0, room.len <= limits.maxRoomNameBytes else { return invalid }
    let name = room.string
    let origin = invocation.origin
    if !origin.rooms.contains(name), origin.rooms.count >= limits.maxRoomsPerConnection {
        return GD_ERR_FORBIDDEN.rawValue
    }
    invocation.run.services.state.join(origin, room: name)
    return ok
}

private let hostLeave: @convention(c) (OpaquePointer?, gd_str) -> Int32 = { call, room in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    return invocation.run.services.state.leave(invocation.origin, room: room.string) ? ok : notFound
}

/// The user a permission function names: empty = the origin's user.
private func targetUser(_ invocation: ActionInvocation, _ id: gd_str) -> User? {
    id.len == 0 ? invocation.origin.user : invocation.run.services.state.user(id: id.string)
}

private let hostHasPermission: @convention(c) (OpaquePointer?, gd_str, gd_str) -> Int32 = { call, user, permission in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    guard let target = targetUser(invocation, user) else { return notFound }
    return target.permissions.contains(permission.string) ? 1 : 0
}

private let hostSetPermissions: @convention(c) (OpaquePointer?, gd_str, Int32, UnsafePointer<gd_str>?, Int) -> Int32 = {
    call, user, op, permissions, count in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    guard let target = targetUser(invocation, user) else { return notFound }
    let list = (0..<max(count, 0)).compactMap { permissions?[$0].string }
    switch op {
    case Int32(GD_PERMISSIONS_SET.rawValue): target.permissions.set(list)
    case Int32(GD_PERMISSIONS_ADD.rawValue): target.permissions.add(list)
    case Int32(GD_PERMISSIONS_REMOVE.rawValue): target.permissions.remove(list)
    default: return invalid
    }
    return ok
}

private let hostDisconnect: @convention(c) (OpaquePointer?, Int32, gd_str, UInt16, gd_str) -> Int64 = {
    call, scope, id, code, reason in
    guard let invocation = ActionInvocation.active(call) else { return Int64(stale) }
    let state = invocation.run.services.state
    let connections: [Connection]
    switch scope {
    case Int32(GD_DISCONNECT_CONNECTION.rawValue): connections = state.connection(id: id.string).map { [$0] } ?? []
    case Int32(GD_DISCONNECT_USER.rawValue): connections = state.user(id: id.string)?.connections ?? []
    default: return Int64(invalid)
    }
    let text = reason.string
    for connection in connections { connection.transport.close(code: code, reason: text) }
    return Int64(connections.count)
}

private let hostSetResult: @convention(c) (OpaquePointer?, gd_str) -> Int32 = { call, json in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    guard (try? JSONReader(json.raw).validate()) != nil else { return invalid }
    invocation.result = Array(json.raw)
    return ok
}

private let hostDefer: @convention(c) (OpaquePointer?) -> gd_ticket = { call in
    guard let invocation = ActionInvocation.active(call), invocation.ticket == 0 else { return 0 }
    invocation.ticket = PendingCompletions.shared.register(invocation.run)
    return invocation.ticket
}

private let hostComplete: @convention(c) (gd_ticket, Int32, gd_str, gd_str) -> Int32 = { ticket, status, json, message in
    guard let run = PendingCompletions.shared.take(ticket) else {
        HostTable.pluginLogger.withLock { $0 }.warning(
            "complete() called for an unknown, timed-out or already completed ticket; ignored",
            metadata: ["ticket": "\(ticket)"])
        return stale
    }
    var finalStatus = status == GD_PENDING.rawValue ? GD_ERR_FAILED.rawValue : status
    var text = message.string
    var result: [UInt8]?
    if finalStatus == ok, json.len > 0 {
        if (try? JSONReader(json.raw).validate()) != nil {
            result = Array(json.raw)
        } else {
            finalStatus = GD_ERR_FAILED.rawValue
            text = "complete() was given a result that is not valid JSON"
        }
    }
    let resumeStatus = finalStatus
    let resumeText = text
    let resumeResult = result
    run.cargo.connection.transport.executor.execute {
        run.resume(ticket: ticket, status: resumeStatus, result: resumeResult, message: resumeText)
    }
    return ok
}

private let hostIsMember: @convention(c) (OpaquePointer?, gd_str, gd_str) -> Int32 = { call, id, room in
    guard let invocation = ActionInvocation.active(call) else { return stale }
    let connection = id.len == 0 ? invocation.origin : invocation.run.services.state.connection(id: id.string)
    guard let connection else { return notFound }
    return connection.rooms.contains(room.string) ? 1 : 0
}

/// The C callback and its context, carried to whichever thread the answer arrives on.
private struct HTTPCallbackContext: @unchecked Sendable {
    let callback: gd_http_callback
    let userData: UnsafeMutableRawPointer?
}

private let hostHTTPRequest: @convention(c) (UnsafePointer<gd_http_request>?, gd_http_callback?, UnsafeMutableRawPointer?) -> Int32 = {
    request, callback, userData in
    guard let request, let callback, request.pointee.size >= UInt32(MemoryLayout<gd_http_request>.size) else {
        return invalid
    }
    guard let callout = HostTable.httpCallout.withLock({ $0 }) else { return GD_ERR_FAILED.rawValue }
    let r = request.pointee
    let url = r.url.string
    guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return invalid }
    var headers: [(name: String, value: String)] = []
    for index in 0..<r.header_count {
        guard let header = r.headers?[index] else { return invalid }
        headers.append((header.name.string, header.value.string))
    }
    let copy = HTTPCalloutRequest(
        method: r.method.len == 0 ? "POST" : r.method.string, url: url, headers: headers, body: Array(r.body.raw),
        timeout: .milliseconds(r.timeout_ms == 0 ? 10_000 : Int64(r.timeout_ms)),
        maxAttempts: max(1, Int(r.max_attempts)),
        backoff: .milliseconds(r.backoff_ms == 0 ? 200 : Int64(r.backoff_ms)),
        signingSecret: r.signing_secret.len == 0 ? nil : Array(r.signing_secret.raw))
    let context = HTTPCallbackContext(callback: callback, userData: userData)
    callout.send(copy) { result in
        switch result {
        case .success(let response):
            response.body.withUnsafeBytes { body in
                context.callback(
                    context.userData, GD_OK.rawValue, UInt16(clamping: response.status),
                    gd_str(data: body.baseAddress?.assumingMemoryBound(to: CChar.self), len: body.count), gd_str(data: nil, len: 0))
            }
        case .failure(let error):
            var message = error.message
            message.withUTF8 { text in
                text.withMemoryRebound(to: CChar.self) { chars in
                    context.callback(
                        context.userData, GD_ERR_FAILED.rawValue, 0, gd_str(data: nil, len: 0),
                        gd_str(data: chars.baseAddress, len: chars.count))
                }
            }
        }
    }
    return ok
}
