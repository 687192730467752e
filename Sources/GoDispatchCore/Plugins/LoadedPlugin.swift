import CGoDispatchABI

/// A plugin that passed every check and whose actions are registered.
public struct LoadedPlugin: Sendable {
    /// The `.so` file it came from.
    public let file: String
    /// Name from the descriptor.
    public let name: String
    /// Version from the descriptor.
    public let version: String
    /// One-line description from the descriptor.
    public let description: String
    /// ABI version the plugin was built against, e.g. "1.0".
    public let abiVersion: String
    /// The Swift toolchain it was built with, or nil for a plugin without Swift.
    public let toolchain: String?
    /// Its actions, in descriptor order.
    public let actions: [RegisteredAction]
}

/// One action, as the plugin described it.
public struct RegisteredAction: @unchecked Sendable {
    /// The name pipelines use.
    public let name: String
    /// One-line description.
    public let description: String
    /// The plugin's name.
    public let pluginName: String
    /// True if the action only makes sense for the connection that sent the message
    /// (`GD_ACTION_NEEDS_ORIGIN`): `server_events:` pipelines may not use it. False for plugins built
    /// before ABI 1.2, which cannot say.
    public var needsOrigin: Bool { functions.flags & UInt32(GD_ACTION_NEEDS_ORIGIN) != 0 }
    /// The host's copy of the plugin's `gd_action` (its function pointers and `action_data` live as
    /// long as the process); fields of a minor the plugin predates are zero.
    let functions: gd_action
}

/// Every registered action by name.
public struct ActionRegistry: Sendable {
    /// Actions by name.
    public private(set) var actions: [String: RegisteredAction] = [:]

    /// An empty registry.
    public init() {}

    /// The action named `name`.
    public subscript(name: String) -> RegisteredAction? { actions[name] }

    /// All names, sorted (for "unknown action" messages).
    public var names: [String] { actions.keys.sorted() }

    mutating func register(_ action: RegisteredAction) { actions[action.name] = action }
}
