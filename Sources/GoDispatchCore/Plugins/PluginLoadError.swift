/// Why a plugin file was refused. Every message names the file and the fix.
public struct PluginLoadError: Error, Sendable, CustomStringConvertible {
    /// The kinds of refusal.
    public enum Kind: Sendable, Equatable {
        /// The plugins directory cannot be read.
        case unreadableDirectory
        /// The plugins directory does not exist (or is not a directory).
        case missingDirectory
        /// The plugins directory holds no `.so` file.
        case emptyDirectory
        /// dlopen failed: not an ELF shared library (or not for this machine).
        case notSharedLibrary
        /// dlopen failed on a symbol the library needs but nothing provides.
        case unresolvedSymbol
        /// dlopen failed for another reason.
        case openFailed
        /// No `godispatch_plugin_entry_v1`.
        case missingEntrySymbol
        /// The entry function returned NULL.
        case nullDescriptor
        /// Built against another ABI major version (or a descriptor too small to be version 1).
        case versionMismatch
        /// A Swift plugin built with another Swift toolchain.
        case toolchainMismatch
        /// An action without a name or `invoke`, or with a malformed descriptor.
        case invalidAction
        /// An action name that is already registered (by this or another plugin).
        case duplicateAction
    }

    /// The plugin file (the directory, for the directory kinds).
    public let file: String
    /// What went wrong.
    public let kind: Kind
    /// The explanation and the fix.
    public let message: String

    public var description: String {
        switch kind {
        case .unreadableDirectory, .missingDirectory, .emptyDirectory: "plugins directory \(file): \(message)"
        default: "plugin \(file): \(message)"
        }
    }
}
