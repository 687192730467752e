import CGoDispatchABI
import Logging

/// The `gd_host_api` table handed to every plugin: the only way plugins reach the engine.
///
/// Built once per process and never freed. This layer only converts: `gd_*` arguments become Swift
/// values for ``ActionContext`` (what actions mean), outcomes become statuses. Functions that take a
/// `gd_call` look it up in ``CallHandles`` and answer GD_ERR_STALE for a handle whose `invoke` returned.
enum HostTable {
    /// The logger plugins write to; the engine sets it at start-up.
    static let pluginLogger = Locked(Logger(label: "godispatch.plugin"))
    /// The HTTP callouts behind `http_request`, bounded; the engine configures it with the server
    /// layer's client.
    static let httpCallouts = HTTPCalloutGate()

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
                http_request: hostHTTPRequest,
                join_since: hostJoinSince,
                send_history: hostSendHistory,
                presence: hostPresence,
                presence_count: hostPresenceCount
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
    /// The bytes as a string (invalid UTF-8 repaired), copied.
    var string: String { String(decoding: raw, as: UTF8.self) }
}

extension ActionRefusal {
    /// The status a host function answers with.
    var status: Int32 {
        switch self {
        case .invalid: GD_ERR_INVALID.rawValue
        case .notFound: GD_ERR_NOT_FOUND.rawValue
        case .forbidden: GD_ERR_FORBIDDEN.rawValue
        case .noOrigin: GD_ERR_NOT_FOUND.rawValue
        case .roomFull: GD_ERR_ROOM_FULL.rawValue
        }
    }
}

private func nullValue() -> gd_value { gd_value(kind: Int32(GD_VALUE_NULL.rawValue), text: gd_str(data: nil, len: 0)) }

/// Reads a plugin's `gd_message` (v1.0 layout or larger) into an ``OutgoingMessage``; nil if malformed.
private func outgoing(_ pointer: UnsafePointer<gd_message>?) -> OutgoingMessage? {
    guard let pointer, let m = VersionedStruct.read(pointer, minimum: Int(GD_MESSAGE_SIZE_1_0)) else { return nil }
    let payload: OutgoingMessage.Payload
    switch m.payload.kind {
    case Int32(GD_VALUE_NULL.rawValue): payload = .none
    case Int32(GD_VALUE_STRING.rawValue): payload = .text(m.payload.text.raw)
    case Int32(GD_VALUE_JSON.rawValue): payload = .json(m.payload.text.raw)
    default: return nil
    }
    return OutgoingMessage(
        event: m.event.raw, target: m.target.raw, payload: payload, excludeOrigin: m.flags & UInt32(GD_SEND_EXCLUDE_ORIGIN) != 0)
}

/// Runs a context call for a live handle, turning refusals into statuses (and logging why).
private func withContext<R>(
    _ call: OpaquePointer?, failure: (Int32) -> R, _ body: (ActionInvocation) throws(ActionRefusal) -> R
) -> R {
    guard let invocation = CallHandles.lookup(call) else { return failure(stale) }
    do throws(ActionRefusal) {
        return try body(invocation)
    } catch {
        switch error {
        case .invalid(let why):
            invocation.run.services.logger.warning(
                "a host function refused an action's arguments: \(why)", metadata: ["action": "\(invocation.step.action.name)"])
        case .noOrigin(let why):
            invocation.run.services.logger.warning(
                "a host function needs an origin connection: \(why)", metadata: ["action": "\(invocation.step.action.name)"])
        case .notFound, .forbidden, .roomFull: break
        }
        return failure(error.status)
    }
}

/// The string a gd_str id names, nil when empty (meaning "the origin").
private func optionalID(_ id: gd_str) -> String? { id.len == 0 ? nil : id.string }

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
    guard let invocation = CallHandles.lookup(call) else { return stale }
    for param in invocation.params where param.name.len == name.len && param.name.raw.elementsEqual(name.raw) {
        out?.pointee = param.value
        return ok
    }
    out?.pointee = nullValue()
    return notFound
}

private let hostParamCount: @convention(c) (OpaquePointer?) -> Int = { call in
    CallHandles.lookup(call)?.step.params.count ?? 0
}

private let hostParamAt: @convention(c) (OpaquePointer?, Int, UnsafeMutablePointer<gd_param>?) -> Int32 = {
    call, index, out in
    guard let invocation = CallHandles.lookup(call) else { return stale }
    guard index >= 0, index < invocation.step.params.count else { return notFound }
    out?.pointee = invocation.params[index]
    return ok
}

private let hostCargo: @convention(c) (OpaquePointer?, gd_str, UnsafeMutablePointer<gd_value>?) -> Int32 = {
    call, path, out in
    guard let invocation = CallHandles.lookup(call) else { return stale }
    guard let reference = try? TemplateReference.parse(path.string) else {
        out?.pointee = nullValue()
        return invalid
    }
    out?.pointee = invocation.run.cargo.resolve(reference).cValue(in: invocation.arena)
    return ok
}

private let hostSendOrigin: @convention(c) (OpaquePointer?, UnsafePointer<gd_message>?) -> Int64 = { call, message in
    withContext(call, failure: Int64.init) { invocation throws(ActionRefusal) in
        guard let message = outgoing(message) else { throw .invalid("malformed gd_message") }
        return Int64(try invocation.context.sendToOrigin(message))
    }
}

private let hostSendConnection: @convention(c) (OpaquePointer?, gd_str, UnsafePointer<gd_message>?) -> Int64 = {
    call, id, message in
    withContext(call, failure: Int64.init) { invocation throws(ActionRefusal) in
        guard let message = outgoing(message) else { throw .invalid("malformed gd_message") }
        return Int64(try invocation.context.sendToConnection(id: id.string, message))
    }
}

private let hostSendUser: @convention(c) (OpaquePointer?, gd_str, UnsafePointer<gd_message>?) -> Int64 = {
    call, user, message in
    withContext(call, failure: Int64.init) { invocation throws(ActionRefusal) in
        guard let message = outgoing(message) else { throw .invalid("malformed gd_message") }
        return Int64(try invocation.context.sendToUser(id: user.string, message))
    }
}

private let hostSendRoom: @convention(c) (OpaquePointer?, gd_str, UnsafePointer<gd_message>?) -> Int64 = {
    call, room, message in
    withContext(call, failure: Int64.init) { invocation throws(ActionRefusal) in
        guard let message = outgoing(message) else { throw .invalid("malformed gd_message") }
        return Int64(try invocation.context.sendToRoom(room.raw, message))
    }
}

private let hostJoin: @convention(c) (OpaquePointer?, gd_str) -> Int32 = { call, room in
    withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        try invocation.context.join(room.string, cargo: invocation.run.cargo, sendsJoined: false)
        return ok
    }
}

private let hostLeave: @convention(c) (OpaquePointer?, gd_str) -> Int32 = { call, room in
    withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        try invocation.context.leave(room.string)
        return ok
    }
}

private let hostHasPermission: @convention(c) (OpaquePointer?, gd_str, gd_str) -> Int32 = { call, user, permission in
    withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        try invocation.context.hasPermission(user: optionalID(user), permission.string) ? 1 : 0
    }
}

private let hostSetPermissions: @convention(c) (OpaquePointer?, gd_str, Int32, UnsafePointer<gd_str>?, Int) -> Int32 = {
    call, user, op, permissions, count in
    withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        guard count == 0 || permissions != nil, count >= 0 else { throw .invalid("permissions is NULL") }
        let list = (0..<count).map { permissions![$0].string }
        let change: PermissionChange
        switch op {
        case Int32(GD_PERMISSIONS_SET.rawValue): change = .set(list)
        case Int32(GD_PERMISSIONS_ADD.rawValue): change = .add(list)
        case Int32(GD_PERMISSIONS_REMOVE.rawValue): change = .remove(list)
        default: throw .invalid("unknown permission operation \(op)")
        }
        try invocation.context.setPermissions(user: optionalID(user), change)
        return ok
    }
}

private let hostDisconnect: @convention(c) (OpaquePointer?, Int32, gd_str, UInt16, gd_str) -> Int64 = {
    call, scope, id, code, reason in
    withContext(call, failure: Int64.init) { invocation throws(ActionRefusal) in
        let target: DisconnectTarget
        switch scope {
        case Int32(GD_DISCONNECT_CONNECTION.rawValue): target = .connection(id.string)
        case Int32(GD_DISCONNECT_USER.rawValue): target = .user(id.string)
        default: throw .invalid("unknown disconnect scope \(scope)")
        }
        return Int64(try invocation.context.disconnect(target, code: code, reason: reason.string))
    }
}

private let hostSetResult: @convention(c) (OpaquePointer?, gd_str) -> Int32 = { call, json in
    guard let invocation = CallHandles.lookup(call) else { return stale }
    guard (try? JSONReader(json.raw).validate()) != nil else { return invalid }
    invocation.result = Array(json.raw)
    return ok
}

private let hostDefer: @convention(c) (OpaquePointer?) -> gd_ticket = { call in
    CallHandles.lookup(call)?.deferCompletion() ?? 0
}

private let hostComplete: @convention(c) (gd_ticket, Int32, gd_str, gd_str) -> Int32 = { ticket, status, json, message in
    guard let entry = PendingCompletions.shared.settle(ticket) else {
        HostTable.pluginLogger.withLock { $0 }.warning(
            "complete() called for an unknown or already completed ticket; ignored", metadata: ["ticket": "\(ticket)"])
        return stale
    }
    guard entry.run != nil else {
        // Timed out: nobody waits, but the ticket has settled now (its step is dropped on its executor).
        PendingCompletions.shared.resume(entry, ticket: ticket, status: status, result: nil, message: "")
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
    PendingCompletions.shared.resume(entry, ticket: ticket, status: finalStatus, result: result, message: text)
    return ok
}

private let hostIsMember: @convention(c) (OpaquePointer?, gd_str, gd_str) -> Int32 = { call, id, room in
    withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        try invocation.context.isMember(connection: optionalID(id), room: room.string) ? 1 : 0
    }
}

// 1.2: history

private let hostJoinSince: @convention(c) (OpaquePointer?, gd_str, gd_str) -> Int32 = { call, room, since in
    withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        var position: StreamPosition?
        if since.len > 0 {
            guard let parsed = StreamPosition(json: since.raw) else {
                throw .invalid("`since` must be {\"offset\": <integer>, \"epoch\": \"<text>\"}")
            }
            position = parsed
        }
        try invocation.context.join(room.string, cargo: invocation.run.cargo, since: position)
        return ok
    }
}

private let hostSendHistory: @convention(c) (OpaquePointer?, gd_str, Int64) -> Int64 = { call, room, limit in
    withContext(call, failure: Int64.init) { invocation throws(ActionRefusal) in
        Int64(try invocation.context.sendHistory(room: room.string, limit: limit < 0 ? nil : Int(limit)))
    }
}

/// The C callback and its context, carried to whichever thread the answer arrives on.
private struct HTTPCallbackContext: @unchecked Sendable {
    let callback: gd_http_callback
    let userData: UnsafeMutableRawPointer?
}

private let hostHTTPRequest: @convention(c) (UnsafePointer<gd_http_request>?, gd_http_callback?, UnsafeMutableRawPointer?) -> Int32 = {
    request, callback, userData in
    guard let request, let callback, let r = VersionedStruct.read(request, minimum: Int(GD_HTTP_REQUEST_SIZE_1_1)) else {
        return invalid
    }
    let callout = HostTable.httpCallouts
    guard callout.hasClient else { return GD_ERR_FAILED.rawValue }
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

// MARK: - 1.2: presence

private let hostPresence: @convention(c) (OpaquePointer?, gd_str, UnsafeMutablePointer<gd_str>?) -> Int32 = {
    call, room, out in
    out?.pointee = gd_str(data: nil, len: 0)
    return withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        let json = try invocation.context.presence(room.string)
        out?.pointee = invocation.arena.copy(json)
        return ok
    }
}

private let hostPresenceCount: @convention(c) (
    OpaquePointer?, gd_str, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<UInt64>?
) -> Int32 = { call, room, users, connections in
    withContext(call, failure: { $0 }) { invocation throws(ActionRefusal) in
        let counts = try invocation.context.presenceCounts(room.string)
        users?.pointee = UInt64(counts.users)
        connections?.pointee = UInt64(counts.connections)
        return ok
    }
}
