import CGoDispatchABI

/// What `instantiate` keeps for a step: a class instance that is `Sendable`, because `invoke` reads it
/// on several event loops at once (keep it immutable, or synchronize what changes).
public typealias StepState = AnyObject & Sendable

/// One action a Swift plugin provides.
public struct ActionDefinition: Sendable {
    /// Checks a step's static params at config load; returns state kept for the step (or nil).
    public typealias Instantiate = @Sendable (StepConfig) throws(ActionError) -> (any StepState)?
    /// Runs the action for one message, with the state `instantiate` returned. Runs concurrently on
    /// several event loops with the same state; must not block.
    public typealias Invoke = @Sendable (ActionCall, (any StepState)?) -> ActionOutcome

    /// The name YAML pipelines use, e.g. `_notify_room`.
    public let name: String
    /// A one-line description shown by `godispatch plugins`.
    public let description: String
    /// True if the action only makes sense for the connection that sent the message (it sends to it,
    /// joins rooms for it, …): `server_events:` pipelines, which have no such connection, may not use
    /// it (`GD_ACTION_NEEDS_ORIGIN`). Leave it false when an explicit param (a `user`) can stand in.
    public let needsOrigin: Bool
    let instantiate: Instantiate?
    let invoke: Invoke

    /// Describes an action.
    public init(
        name: String, description: String, needsOrigin: Bool = false, instantiate: Instantiate? = nil,
        invoke: @escaping Invoke
    ) {
        self.name = name
        self.description = description
        self.needsOrigin = needsOrigin
        self.instantiate = instantiate
        self.invoke = invoke
    }
}

/// A Swift plugin: a name, a version and its actions. ``export(host:)`` turns it into the C descriptor.
public struct PluginDefinition: Sendable {
    /// The plugin's name.
    public let name: String
    /// The plugin's version, e.g. "1.0.0".
    public let version: String
    /// A one-line description.
    public let description: String
    /// The actions, registered all or none.
    public let actions: [ActionDefinition]

    /// Describes a plugin.
    public init(name: String, version: String, description: String, actions: [ActionDefinition]) {
        self.name = name
        self.version = version
        self.description = description
        self.actions = actions
    }

    /// Builds the descriptor (once; it is never freed) and remembers the host table.
    ///
    /// Call it from the plugin's entry symbol:
    /// ```swift
    /// @_cdecl("godispatch_plugin_entry_v1")
    /// public func entry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    ///     myPlugin.export(host: host)
    /// }
    /// ```
    public func export(host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
        guard let host else { return nil }
        let actionTable = UnsafeMutablePointer<gd_action>.allocate(capacity: max(actions.count, 1))
        for (index, action) in actions.enumerated() {
            let box = ActionBox(action: action, host: host)
            actionTable[index] = gd_action(
                size: UInt32(MemoryLayout<gd_action>.size),
                name: leakedCString(action.name),
                description: leakedCString(action.description),
                action_data: Unmanaged.passRetained(box).toOpaque(),
                instantiate: action.instantiate == nil ? nil : instantiateTrampoline,
                release: action.instantiate == nil ? nil : releaseTrampoline,
                invoke: invokeTrampoline,
                flags: action.needsOrigin ? UInt32(GD_ACTION_NEEDS_ORIGIN) : 0
            )
        }
        let descriptor = UnsafeMutablePointer<gd_plugin_descriptor>.allocate(capacity: 1)
        descriptor.initialize(
            to: gd_plugin_descriptor(
                size: UInt32(MemoryLayout<gd_plugin_descriptor>.size),
                abi_major: UInt16(GD_ABI_MAJOR),
                abi_minor: UInt16(GD_ABI_MINOR),
                name: leakedCString(name),
                version: leakedCString(version),
                toolchain: leakedCString(SwiftToolchain.current),
                description: leakedCString(description),
                actions: UnsafePointer(actionTable),
                action_count: actions.count
            )
        )
        return UnsafePointer(descriptor)
    }
}

/// Keeps an action's closures and the host table behind `action_data`. Immutable after creation.
private final class ActionBox: @unchecked Sendable {
    let action: ActionDefinition
    let host: UnsafePointer<gd_host_api>

    init(action: ActionDefinition, host: UnsafePointer<gd_host_api>) {
        self.action = action
        self.host = host
    }
}

/// Holds whatever `instantiate` returned, behind `step_state`.
private final class StepStateBox: Sendable {
    let value: (any StepState)?
    init(_ value: (any StepState)?) { self.value = value }
}

/// A NUL-terminated copy that lives for the rest of the process (descriptor strings are never freed).
private func leakedCString(_ text: String) -> UnsafePointer<CChar> {
    let utf8 = Array(text.utf8CString)
    let copy = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
    copy.initialize(from: utf8, count: utf8.count)
    return UnsafePointer(copy)
}

private let instantiateTrampoline:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<gd_step_config>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
        UnsafeMutablePointer<gd_error>?
    ) -> Int32 = { data, config, stepState, errorOut in
        guard let data, let config else { return GD_ERR_INVALID.rawValue }
        let box = Unmanaged<ActionBox>.fromOpaque(data).takeUnretainedValue()
        guard let instantiate = box.action.instantiate else { return GD_OK.rawValue }
        do throws(ActionError) {
            let state = try instantiate(StepConfig(config))
            stepState?.pointee = Unmanaged.passRetained(StepStateBox(state)).toOpaque()
            return GD_OK.rawValue
        } catch {
            error.write(to: errorOut)
            return error.status
        }
    }

private let releaseTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = {
    _, stepState in
    guard let stepState else { return }
    Unmanaged<StepStateBox>.fromOpaque(stepState).release()
}

private let invokeTrampoline:
    @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<gd_error>?)
        -> Int32 = { data, stepState, call, error in
            guard let data, let call else { return GD_ERR_INVALID.rawValue }
            let box = Unmanaged<ActionBox>.fromOpaque(data).takeUnretainedValue()
            let state = stepState.map { Unmanaged<StepStateBox>.fromOpaque($0).takeUnretainedValue().value } ?? nil
            switch box.action.invoke(ActionCall(raw: call, host: box.host), state) {
            case .ok: return GD_OK.rawValue
            case .pending: return GD_PENDING.rawValue
            case .failure(let failure):
                failure.write(to: error)
                return failure.status
            }
        }

extension ActionDefinition {
    /// An action whose steps keep a state of type `State`: `instantiate` (once per step, at config load)
    /// returns it, and `invoke` (per message) receives it typed — no cast in the plugin.
    ///
    /// ```swift
    /// final class Greeting: Sendable { let text: String; init(_ text: String) { self.text = text } }
    ///
    /// let greet = ActionDefinition.stateful(
    ///     name: "greet", description: "Greets the sender",
    ///     instantiate: { config throws(ActionError) in Greeting(config.literalString("text") ?? "Hello") },
    ///     invoke: { call, greeting in
    ///         call.setResult(json: "{\"text\":\(JSONString.quote(greeting.text))}")
    ///         return .ok
    ///     })
    /// ```
    public static func stateful<State: StepState>(
        name: String, description: String, needsOrigin: Bool = false,
        instantiate: @escaping @Sendable (StepConfig) throws(ActionError) -> State,
        invoke: @escaping @Sendable (ActionCall, State) -> ActionOutcome
    ) -> ActionDefinition {
        ActionDefinition(
            name: name, description: description, needsOrigin: needsOrigin,
            instantiate: { config throws(ActionError) in try instantiate(config) },
            invoke: { call, state in
                // The engine passes what this step's instantiate returned; anything else is a kit bug.
                guard let state = state as? State else {
                    return .failure(.failed("\(name): the step's state is missing (was it instantiated?)"))
                }
                return invoke(call, state)
            })
    }
}
