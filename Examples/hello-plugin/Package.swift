// swift-tools-version: 6.1
// A third-party GoDispatch plugin: its own package, depending only on the plugin kit.
//   swift build -c release        → .build/release/libHelloPlugin.so
// Drop the .so into the engine's plugins directory and use `hello` in a pipeline.
import Foundation
import PackageDescription

/// Export only the entry symbol and the toolchain identity: everything else stays local (exports.map).
let versionScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("exports.map").path

let package = Package(
    name: "hello-plugin",
    products: [
        .library(name: "HelloPlugin", type: .dynamic, targets: ["HelloPlugin"])
    ],
    dependencies: [
        // In your own package: .package(url: "https://github.com/<owner>/godispatch.git", from: "0.12.0") and
        // .product(name: "GoDispatchPluginKit", package: "godispatch") (scripts/build-plugin-by-url.sh builds it so).
        .package(path: "../../PluginKit")
    ],
    targets: [
        .target(
            name: "HelloPlugin",
            dependencies: [.product(name: "GoDispatchPluginKit", package: "PluginKit")],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(versionScript)"])]
        )
    ]
)
