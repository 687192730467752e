import CGoDispatchABI
import GoDispatchPluginKit
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads plugin shared libraries and registers their actions.
///
/// Each file is opened with `dlopen(RTLD_NOW | RTLD_LOCAL)` and checked (entry symbol, descriptor
/// size, ABI major, Swift toolchain, action names) before any action is registered; a plugin's actions
/// register all or none. Libraries are never closed.
public struct PluginHost: Sendable {
    /// Every action loaded so far.
    public private(set) var registry = ActionRegistry()
    /// Every plugin loaded so far.
    public private(set) var plugins: [LoadedPlugin] = []
    /// The library suffix loaded from a directory.
    public static let librarySuffix = ".so"

    /// An empty host.
    public init() {}

    /// Loads every `.so` in `directory` in name order; returns the refusals (the rest are loaded).
    @discardableResult
    public mutating func loadDirectory(_ directory: String) -> [PluginLoadError] {
        guard let entries = try? FileManagerShim.contentsOfDirectory(directory) else {
            return [
                PluginLoadError(
                    file: directory, kind: .unreadableDirectory,
                    message: "cannot read the plugins directory; check `plugins.directory` or pass --plugins DIR")
            ]
        }
        var errors: [PluginLoadError] = []
        for name in entries.sorted() where name.hasSuffix(Self.librarySuffix) {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            do {
                try load(file: path)
            } catch {
                errors.append(error)
            }
        }
        return errors
    }

    /// Loads one plugin file; a file already loaded is skipped (plugins are never unloaded or reloaded).
    public mutating func load(file: String) throws(PluginLoadError) {
        guard !plugins.contains(where: { $0.file == file }) else { return }
        dlerror()
        guard let handle = dlopen(file, RTLD_NOW | RTLD_LOCAL) else {
            throw Self.openError(file: file, reason: dlerror().map { String(cString: $0) } ?? "unknown dlopen error")
        }
        guard let symbol = dlsym(handle, GD_ENTRY_SYMBOL) else {
            throw Self.missingEntryError(file: file, handle: handle)
        }
        let entry = unsafeBitCast(symbol, to: gd_plugin_entry_fn.self)
        guard let descriptor = entry(HostTable.shared) else {
            throw PluginLoadError(
                file: file, kind: .nullDescriptor,
                message: "\(GD_ENTRY_SYMBOL) returned NULL; the plugin must return its descriptor (did its setup fail?)")
        }
        let plugin = try validate(descriptor, file: file)
        for action in plugin.actions { registry.register(action) }
        plugins.append(plugin)
    }

    private func validate(_ descriptor: UnsafePointer<gd_plugin_descriptor>, file: String) throws(PluginLoadError)
        -> LoadedPlugin
    {
        // Read the leading size and version fields before trusting the rest of the struct.
        let size = descriptor.withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee }
        let versions = UnsafeRawPointer(descriptor).load(fromByteOffset: 4, as: (UInt16, UInt16).self)
        let hostVersion = "\(GD_ABI_MAJOR).\(GD_ABI_MINOR)"
        guard versions.0 == UInt16(GD_ABI_MAJOR), size >= UInt32(MemoryLayout<gd_plugin_descriptor>.size) else {
            throw PluginLoadError(
                file: file, kind: .versionMismatch,
                message: "built against plugin ABI \(versions.0).\(versions.1) (descriptor of \(size) bytes), "
                    + "this engine speaks ABI \(hostVersion); rebuild the plugin against this engine's GoDispatchPluginKit")
        }
        let d = descriptor.pointee
        let name = d.name.map { String(cString: $0) } ?? ""
        let toolchain = d.toolchain.map { String(cString: $0) }
        if let toolchain, toolchain != SwiftToolchain.current {
            throw PluginLoadError(
                file: file, kind: .toolchainMismatch,
                message: "built with \(toolchain) but the engine was built with \(SwiftToolchain.current); Swift has no "
                    + "stable ABI on Linux: rebuild the plugin with the engine's toolchain")
        }
        guard !name.isEmpty else {
            throw PluginLoadError(file: file, kind: .invalidAction, message: "the descriptor has no name; set `name`")
        }
        var actions: [RegisteredAction] = []
        var seen: Set<String> = []
        // A plugin built against a newer minor may have a larger gd_action: walk the array with the
        // plugin's own element size (every element of one array has the same size).
        let stride = d.actions.map { Int($0.pointee.size) } ?? 0
        for index in 0..<d.action_count {
            guard let table = d.actions else {
                throw PluginLoadError(
                    file: file, kind: .invalidAction, message: "action_count is \(d.action_count) but actions is NULL")
            }
            let action = UnsafeRawPointer(table).advanced(by: index * stride).assumingMemoryBound(to: gd_action.self)
            guard action.pointee.size >= UInt32(MemoryLayout<gd_action>.size) else {
                throw PluginLoadError(
                    file: file, kind: .versionMismatch,
                    message: "action #\(index) descriptor is \(action.pointee.size) bytes, smaller than ABI \(hostVersion) "
                        + "expects; rebuild against this engine's GoDispatchPluginKit")
            }
            let actionName = action.pointee.name.map { String(cString: $0) } ?? ""
            guard !actionName.isEmpty, action.pointee.invoke != nil else {
                throw PluginLoadError(
                    file: file, kind: .invalidAction,
                    message: "action #\(index) has no name or no invoke function; both are required")
            }
            if !seen.insert(actionName).inserted {
                throw PluginLoadError(
                    file: file, kind: .duplicateAction,
                    message: "declares action `\(actionName)` twice; give each action its own name")
            }
            if let existing = registry[actionName] {
                throw PluginLoadError(
                    file: file, kind: .duplicateAction,
                    message: "action `\(actionName)` is already provided by plugin `\(existing.pluginName)`; rename "
                        + "the action or remove one of the two plugins from the directory")
            }
            actions.append(
                RegisteredAction(
                    name: actionName, description: action.pointee.description.map { String(cString: $0) } ?? "",
                    pluginName: name, descriptor: action))
        }
        return LoadedPlugin(
            file: file, name: name, version: d.version.map { String(cString: $0) } ?? "",
            description: d.description.map { String(cString: $0) } ?? "",
            abiVersion: "\(versions.0).\(versions.1)", toolchain: toolchain, actions: actions)
    }

    private static func openError(file: String, reason: String) -> PluginLoadError {
        if reason.contains("undefined symbol") {
            return PluginLoadError(
                file: file, kind: .unresolvedSymbol,
                message: "\(reason); the plugin needs a symbol nothing provides: link the library that defines it into "
                    + "the plugin, or rebuild the plugin against this engine")
        }
        if reason.contains("invalid ELF header") || reason.contains("file too short") || reason.contains("not an ELF")
            || reason.contains("wrong ELF class")
        {
            return PluginLoadError(
                file: file, kind: .notSharedLibrary,
                message: "not a shared library for this machine (\(reason)); remove it from the plugins directory or "
                    + "rebuild it with `swift build -c release` / `cc -shared -fPIC`")
        }
        return PluginLoadError(file: file, kind: .openFailed, message: "dlopen failed: \(reason)")
    }

    private static func missingEntryError(file: String, handle: UnsafeMutableRawPointer) -> PluginLoadError {
        for major in 0...9 where major != Int(GD_ABI_MAJOR) {
            if dlsym(handle, "godispatch_plugin_entry_v\(major)") != nil {
                return PluginLoadError(
                    file: file, kind: .versionMismatch,
                    message: "exports godispatch_plugin_entry_v\(major) (plugin ABI \(major)) but this engine speaks "
                        + "ABI \(GD_ABI_MAJOR); rebuild the plugin against this engine's GoDispatchPluginKit")
            }
        }
        return PluginLoadError(
            file: file, kind: .missingEntrySymbol,
            message: "no symbol \(GD_ENTRY_SYMBOL); export it (Swift: @_cdecl(\"\(GD_ENTRY_SYMBOL)\"), C: a "
                + "non-static function with that name) and keep it visible in the linker version script")
    }
}

/// Directory listing without pulling Foundation into the plugin host's hot types.
enum FileManagerShim {
    static func contentsOfDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw PluginLoadError.Kind.unreadableDirectory }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

extension PluginLoadError.Kind: Error {}
