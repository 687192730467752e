// swift-tools-version: 6.1
import PackageDescription

/// The GoDispatch plugin ABI (a C header) and the Swift kit for plugin authors.
///
/// Its own package, with no dependencies, so a plugin can depend on it alone:
///   .package(path: "…/PluginKit")  or  .package(url: "<the GoDispatch repository>", …)
let package = Package(
    name: "PluginKit",
    products: [
        .library(name: "CGoDispatchABI", targets: ["CGoDispatchABI"]),
        .library(name: "GoDispatchPluginKit", targets: ["GoDispatchPluginKit"]),
    ],
    targets: [
        /// The ABI header (and the toolchain-identity header the engine and the kit share).
        .target(name: "CGoDispatchABI"),
        /// The data every Swift plugin exports besides its entry function: the toolchain identity.
        .target(name: "CGoDispatchPluginExports", dependencies: ["CGoDispatchABI"]),
        .target(name: "GoDispatchPluginKit", dependencies: ["CGoDispatchABI", "CGoDispatchPluginExports"]),
    ]
)
