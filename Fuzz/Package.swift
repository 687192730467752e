// swift-tools-version: 6.1
// libFuzzer targets for GoDispatch's parsers, in their own package so the main package's build and
// tests never see them. Build and run them with `make fuzz` at the repository root, which passes
// `--sanitize=fuzzer --sanitize=address` (every module is instrumented, libFuzzer supplies `main`).
// Each target is one file whose `LLVMFuzzerTestOneInput` is the entry; debug builds enable
// testability, so `@testable import` reaches the internal types.
import Foundation
import PackageDescription

/// A path dependency's identity is its directory's name (`main`, `wt-fuzz`, a CI clone's folder…).
let engine = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

/// One fuzz target: an executable without a Swift `main` (libFuzzer's is linked in).
func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"]
            + products.map { .product(name: $0, package: $0.hasPrefix("NIO") ? "swift-nio" : engine) },
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "GoDispatchFuzz",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
    ],
    targets: [
        .target(name: "FuzzSupport"),
        fuzzTarget("FuzzFrame", ["GoDispatchServer", "NIOCore"]),
        fuzzTarget("FuzzJSON", ["GoDispatchCore"]),
        fuzzTarget("FuzzEnvelope", ["GoDispatchCore"]),
        fuzzTarget("FuzzTemplate", ["GoDispatchCore"]),
        fuzzTarget("FuzzCondition", ["GoDispatchCore"]),
        fuzzTarget("FuzzConfig", ["GoDispatchCore"]),
        fuzzTarget("FuzzRESP", ["GoDispatchRedis", "NIOCore"]),
    ]
)
