/// The engine's version, as `godispatch --version`, `/api/info` and `godispatch_build_info` report it.
public enum GoDispatchVersion {
    /// The release this source tree is.
    public static let current = "0.12.0"
}
