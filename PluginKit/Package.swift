// swift-tools-version: 6.1
import PackageDescription

/// The GoDispatch plugin ABI (a C header) and the Swift kit for plugin authors.
///
/// Its own package, with no dependencies, for builds inside this repository (`.package(path: "…/PluginKit")`).
/// A third-party plugin depends on the GoDispatch repository by URL and version instead, whose root package
/// vends the same targets: `.package(url: "<the GoDispatch repository>", from: "0.12.0")`, product
/// `GoDispatchPluginKit` of package `godispatch`.
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
