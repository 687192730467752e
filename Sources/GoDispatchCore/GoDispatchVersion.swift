/// The engine's version, as `godispatch_build_info{version}` and logs report it.
public enum GoDispatchVersion {
    /// The version of this build.
    public static let current = "0.1.0"
}
