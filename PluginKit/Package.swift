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
        .target(name: "CGoDispatchABI"),
        .target(name: "GoDispatchPluginKit", dependencies: ["CGoDispatchABI"]),
    ]
)
