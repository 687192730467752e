// swift-tools-version: 6.1
import PackageDescription

/// The ABI header and the plugin kit: their sources live in `PluginKit/` (also a dependency-free package of
/// its own, which the in-repo examples build against), and this package vends them as products, so a
/// third-party plugin depends on the GoDispatch repository by URL and a version:
///   .package(url: "https://github.com/<owner>/godispatch.git", from: "0.12.0")
///   .product(name: "GoDispatchPluginKit", package: "godispatch")
/// It builds only the kit's three targets, whatever else this package holds.
let abi: Target.Dependency = "CGoDispatchABI"
let kit: Target.Dependency = "GoDispatchPluginKit"
let kitTargets: [Target] = [
    .target(name: "CGoDispatchABI", path: "PluginKit/Sources/CGoDispatchABI"),
    .target(name: "CGoDispatchPluginExports", dependencies: ["CGoDispatchABI"], path: "PluginKit/Sources/CGoDispatchPluginExports"),
    .target(
        name: "GoDispatchPluginKit", dependencies: ["CGoDispatchABI", "CGoDispatchPluginExports"],
        path: "PluginKit/Sources/GoDispatchPluginKit"),
]

/// A C fixture plugin used by the plugin-host tests: one tiny `.so` per failure mode.
func fixture(_ name: String) -> (product: Product, target: Target) {
    (
        .library(name: "Fixture\(name)", type: .dynamic, targets: ["Fixture\(name)"]),
        .target(
            name: "Fixture\(name)", dependencies: [abi], path: "Tests/PluginFixtures/\(name)",
            publicHeadersPath: ".")
    )
}

let fixtures = [
    "NoEntry", "NullDescriptor", "WrongVersion", "NextMajor", "DuplicateAction", "Unresolved",
    "ToolchainMismatch", "Probe", "RejectParams", "NewerMinor", "Contract",
].map(fixture)

/// A bundled plugin: its own shared library under Plugins/, never linked into the engine.
func bundledPlugin(_ name: String) -> (product: Product, target: Target) {
    (
        .library(name: "GoDispatch\(name)", type: .dynamic, targets: ["GoDispatch\(name)"]),
        .target(name: "GoDispatch\(name)", dependencies: [kit], path: "Plugins/\(name)")
    )
}

let bundled = ["Messaging", "Rooms", "Permissions", "Webhook", "Presence", "History"].map(bundledPlugin)

let package = Package(
    name: "GoDispatch",
    products: [
        .library(name: "CGoDispatchABI", targets: ["CGoDispatchABI"]),
        .library(name: "GoDispatchPluginKit", targets: ["GoDispatchPluginKit"]),
        .library(name: "GoDispatchCore", targets: ["GoDispatchCore"]),
        .library(name: "GoDispatchServer", targets: ["GoDispatchServer"]),
        .library(name: "GoDispatchClient", targets: ["GoDispatchClient"]),
        .library(name: "GoDispatchRedis", targets: ["GoDispatchRedis"]),
        .executable(name: "godispatch", targets: ["godispatch"]),
        .executable(name: "godispatch-soak", targets: ["godispatch-soak"]),
        .executable(name: "godispatch-bench-api", targets: ["godispatch-bench-api"]),
        .executable(name: "godispatch-bench-cluster", targets: ["godispatch-bench-cluster"]),
    ] + bundled.map(\.product) + fixtures.map(\.product),
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
    ],
    targets: [
        .target(
            name: "GoDispatchCore",
            dependencies: [
                abi,
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "GoDispatchServer",
            dependencies: [
                "GoDispatchCore",
                "GoDispatchRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "GoDispatchClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        /// The project's own small Redis client (RESP2, pipelining, pub/sub, scripts), the base of the Redis broker.
        .target(
            name: "GoDispatchRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "godispatch",
            dependencies: [
                "GoDispatchServer",
                "GoDispatchClient",
                "GoDispatchCore",
                "GoDispatchRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        /// `make soak`: the soak driver; it starts the server as a child process and talks to it over sockets only.
        /// What the load drivers share: the server as a child process, tokens they sign.
        .target(
            name: "GoDispatchLoadDriver",
            dependencies: [.product(name: "JWTKit", package: "jwt-kit")]
        ),
        .executableTarget(
            name: "godispatch-soak",
            dependencies: [
                "GoDispatchLoadDriver",
                "GoDispatchClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        /// `make bench-api`: API publishes against client publishes, into one room, from one process.
        .executableTarget(
            name: "godispatch-bench-api",
            dependencies: [
                "GoDispatchLoadDriver",
                "GoDispatchClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        /// `make bench-cluster`: one node against two nodes sharing a `redis-server`, in one run.
        .executableTarget(
            name: "godispatch-bench-cluster",
            dependencies: [
                "GoDispatchLoadDriver",
                "GoDispatchClient",
                "GoDispatchRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .target(name: "GoDispatchTestSupport", dependencies: ["GoDispatchCore", "GoDispatchLoadDriver"], path: "Tests/GoDispatchTestSupport"),
        .testTarget(
            name: "GoDispatchCoreTests",
            dependencies: ["GoDispatchCore", abi, "GoDispatchTestSupport"]
        ),
        .testTarget(
            name: "GoDispatchServerTests",
            dependencies: [
                "GoDispatchServer",
                "GoDispatchClient",
                "GoDispatchTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        /// Codec and value tests, then end to end against real `redis-server` processes the tests start.
        .testTarget(
            name: "GoDispatchRedisTests",
            dependencies: [
                "GoDispatchRedis",
                "GoDispatchTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        /// Issue 14's three-node suite: real `godispatch serve` processes sharing a real `redis-server`, real clients.
        .testTarget(
            name: "GoDispatchClusterTests",
            dependencies: [
                "GoDispatchClient",
                "GoDispatchCore",
                "GoDispatchLoadDriver",
                "GoDispatchRedis",
                "GoDispatchTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ] + kitTargets + bundled.map(\.target) + fixtures.map(\.target)
)
