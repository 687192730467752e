// swift-tools-version: 6.1
// Microbenchmarks of the engine's hot path with ordo-one/benchmark (wall clock + allocations).
//   cd Benchmarks/ordo && swift package --allow-writing-to-package-directory benchmark
// (or `make benchmarks` from the repository root). Needs the bundled plugins built: `make build`.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, so read the repository folder's name.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

let package = Package(
    name: "GoDispatchBenchmarks",
    dependencies: [
        .package(path: repository.path),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GoDispatchCore", package: repository.lastPathComponent.lowercased()),
            ],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
