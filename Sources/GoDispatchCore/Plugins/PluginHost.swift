import CGoDispatchABI
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
                    message: "cannot be read (missing, or no permission); check `plugins.directory` or pass --plugins DIR")
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

    /// Checks `directories` (loaded in order) before anything loads from them: the refusal of each one that
    /// is missing or unreadable, with its index; or, when every one of them is empty, theirs. An empty folder
    /// beside one holding plugins is fine (your own plugins folder before you add a plugin). Empty when all
    /// is well.
    public static func checkDirectories(_ directories: [String]) -> [(index: Int, refusal: PluginLoadError)] {
        let problems = directories.enumerated().compactMap { index, directory in
            checkDirectory(directory).map { (index: index, refusal: $0) }
        }
        let unusable = problems.filter { $0.refusal.kind != .emptyDirectory }
        if !unusable.isEmpty { return unusable }
        return problems.count == directories.count ? problems : []
    }

    /// Checks `directory` before anything loads from it: nil when it is a readable directory holding at
    /// least one `.so`; otherwise the refusal (``PluginLoadError/Kind/missingDirectory``,
    /// ``PluginLoadError/Kind/unreadableDirectory`` or ``PluginLoadError/Kind/emptyDirectory``), whose
    /// `file` is the path resolved against the working directory and whose message ends with the fix.
    public static func checkDirectory(_ directory: String) -> PluginLoadError? {
        let path = FileManagerShim.absolute(directory)
        let fix = "`make build` puts the bundled plugins in dist/plugins; point `plugins.directory` at a folder of "
            + "plugins or pass --plugins DIR"
        let entries: [String]
        do {
            entries = try FileManagerShim.contentsOfDirectory(path)
        } catch .missingDirectory {
            return PluginLoadError(file: path, kind: .missingDirectory, message: "no such directory; \(fix)")
        } catch {
            return PluginLoadError(
                file: path, kind: .unreadableDirectory, message: "cannot be read (check its permissions); \(fix)")
        }
        guard entries.contains(where: { $0.hasSuffix(librarySuffix) }) else {
            return PluginLoadError(file: path, kind: .emptyDirectory, message: "holds no \(librarySuffix) file; \(fix)")
        }
        return nil
    }

    /// Loads one plugin file; a file already loaded is skipped (plugins are never unloaded or reloaded).
    public mutating func load(file: String) throws(PluginLoadError) {
        guard !plugins.contains(where: { $0.file == file }) else { return }
        dlerror()
        guard let handle = dlopen(file, RTLD_NOW | RTLD_LOCAL) else {
            throw Self.openError(file: file, reason: dlerror().map { String(cString: $0) } ?? "unknown dlopen error")
        }
        let (descriptor, exportsToolchain) = try EnteredLibraries.shared.descriptor(of: handle, file: file)
        let plugin = try validate(descriptor, file: file)
        if plugin.toolchain != nil, !exportsToolchain {
            throw PluginLoadError(
                file: file, kind: .toolchainMismatch,
                message: "is a Swift plugin (built with \(plugin.toolchain!)) but does not export \(GD_TOOLCHAIN_SYMBOL), so "
                    + "the engine cannot check its toolchain before running it; list that symbol next to "
                    + "\(GD_ENTRY_SYMBOL) in the plugin's linker version script")
        }
        for action in plugin.actions { registry.register(action) }
        plugins.append(plugin)
    }

    private func validate(_ descriptor: UnsafePointer<gd_plugin_descriptor>, file: String) throws(PluginLoadError)
        -> LoadedPlugin
    {
        // Read the leading size and version fields before trusting the rest of the struct.
        let size = UnsafeRawPointer(descriptor).loadUnaligned(as: UInt32.self)
        let versions = UnsafeRawPointer(descriptor).loadUnaligned(fromByteOffset: 4, as: (UInt16, UInt16).self)
        let hostVersion = "\(GD_ABI_MAJOR).\(GD_ABI_MINOR)"
        guard versions.0 == UInt16(GD_ABI_MAJOR),
            let d = VersionedStruct.read(descriptor, minimum: Int(GD_PLUGIN_DESCRIPTOR_SIZE_1_0))
        else {
            throw PluginLoadError(
                file: file, kind: .versionMismatch,
                message: "built against plugin ABI \(versions.0).\(versions.1) (descriptor of \(size) bytes), "
                    + "this engine speaks ABI \(hostVersion); rebuild the plugin against this engine's GoDispatchPluginKit")
        }
        let name = d.name.map { String(cString: $0) } ?? ""
        let toolchain = d.toolchain.map { String(cString: $0) }
        guard !name.isEmpty else {
            throw PluginLoadError(file: file, kind: .invalidAction, message: "the descriptor has no name; set `name`")
        }
        var actions: [RegisteredAction] = []
        var seen: Set<String> = []
        // A plugin built against another minor may have a larger (or, for a future host, smaller)
        // gd_action: walk the array with the plugin's own element size (all elements share it).
        let stride = d.actions.map { Int(UnsafeRawPointer($0).loadUnaligned(as: UInt32.self)) } ?? 0
        for index in 0..<d.action_count {
            guard let table = d.actions else {
                throw PluginLoadError(
                    file: file, kind: .invalidAction, message: "action_count is \(d.action_count) but actions is NULL")
            }
            let pointer = UnsafeRawPointer(table).advanced(by: index * stride).assumingMemoryBound(to: gd_action.self)
            guard let action = VersionedStruct.read(pointer, minimum: Int(GD_ACTION_SIZE_1_0)) else {
                throw PluginLoadError(
                    file: file, kind: .versionMismatch,
                    message: "action #\(index) descriptor is \(pointer.pointee.size) bytes, smaller than ABI 1.0's "
                        + "\(GD_ACTION_SIZE_1_0); rebuild against this engine's GoDispatchPluginKit")
            }
            let actionName = action.name.map { String(cString: $0) } ?? ""
            guard !actionName.isEmpty, action.invoke != nil else {
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
                    name: actionName, description: action.description.map { String(cString: $0) } ?? "",
                    pluginName: name, functions: action))
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

    static func missingEntryError(file: String, handle: UnsafeMutableRawPointer) -> PluginLoadError {
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
    /// The names in `path`; throws ``PluginLoadError/Kind/missingDirectory`` when there is no such
    /// directory, ``PluginLoadError/Kind/unreadableDirectory`` when it cannot be opened.
    static func contentsOfDirectory(_ path: String) throws(PluginLoadError.Kind) -> [String] {
        guard let dir = opendir(path) else {
            throw (errno == ENOENT || errno == ENOTDIR) ? PluginLoadError.Kind.missingDirectory : .unreadableDirectory
        }
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

    /// `path` made absolute against the working directory (for messages that say where they looked).
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let relative = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        let base = String(cString: cwd)
        return relative.isEmpty || relative == "." ? base : (base.hasSuffix("/") ? base : base + "/") + relative
    }
}

extension PluginLoadError.Kind: Error {}

/// Every plugin library this process has opened, by `dlopen` handle, with what its entry function
/// returned: each library is checked and entered once per process, however many engines or reloads
/// load it (dlopen hands back the same handle for the same file).
final class EnteredLibraries: Sendable {
    static let shared = EnteredLibraries()

    private struct Entered: @unchecked Sendable {
        let result: Result<(UnsafePointer<gd_plugin_descriptor>, exportsToolchain: Bool), PluginLoadError>
    }

    private let entered = Locked<[UInt: Entered]>([:])

    /// The descriptor of the library behind `handle`, and whether it exports its toolchain identity:
    /// the toolchain is checked, then the entry function called, the first time; later calls give the
    /// first outcome (naming `file`).
    func descriptor(of handle: UnsafeMutableRawPointer, file: String) throws(PluginLoadError)
        -> (UnsafePointer<gd_plugin_descriptor>, exportsToolchain: Bool)
    {
        let key = UInt(bitPattern: handle)
        let outcome = entered.withLock { entered -> Entered in
            if let known = entered[key] { return known }
            let result = Result { () throws(PluginLoadError) in try Self.enter(handle, file: file) }
            entered[key] = Entered(result: result)
            return Entered(result: result)
        }
        switch outcome.result {
        case .success(let descriptor): return descriptor
        case .failure(let error): throw PluginLoadError(file: file, kind: error.kind, message: error.message)
        }
    }

    /// Checks the toolchain symbol (no plugin code runs for that), then calls the entry function.
    private static func enter(_ handle: UnsafeMutableRawPointer, file: String) throws(PluginLoadError)
        -> (UnsafePointer<gd_plugin_descriptor>, exportsToolchain: Bool)
    {
        let toolchainSymbol = dlsym(handle, GD_TOOLCHAIN_SYMBOL)
        if let symbol = toolchainSymbol {
            let text = symbol.assumingMemoryBound(to: CChar.self)
            let theirs = String(decoding: UnsafeRawBufferPointer(start: symbol, count: strnlen(text, 512)), as: UTF8.self)
            let ours = String(cString: gd_toolchain_identity())
            guard theirs == ours else {
                throw PluginLoadError(
                    file: file, kind: .toolchainMismatch,
                    message: "is a Swift plugin built by another toolchain (its compiler: \(theirs); the engine's: \(ours)); "
                        + "Swift has no stable ABI on Linux: rebuild the plugin with the engine's toolchain")
            }
        }
        guard let symbol = dlsym(handle, GD_ENTRY_SYMBOL) else {
            throw PluginHost.missingEntryError(file: file, handle: handle)
        }
        let entry = unsafeBitCast(symbol, to: gd_plugin_entry_fn.self)
        guard let descriptor = entry(HostTable.shared) else {
            throw PluginLoadError(
                file: file, kind: .nullDescriptor,
                message: "\(GD_ENTRY_SYMBOL) returned NULL; the plugin must return its descriptor (did its setup fail?)")
        }
        return (descriptor, toolchainSymbol != nil)
    }
}
