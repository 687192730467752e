import Foundation
import GoDispatchCore
import Logging

/// Where the package's built products (the plugin `.so` files) are.
enum BuildProducts {
    /// `GODISPATCH_BUILD_DIR`, or the folder of the running test binary (SwiftPM puts the `.so`
    /// files of `.library(type: .dynamic)` products next to it).
    static let directory: String = {
        if let override = ProcessInfo.processInfo.environment["GODISPATCH_BUILD_DIR"] { return override }
        var url = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        // An .xctest bundle on Linux is a plain executable; on some layouts it is a folder with the binary inside.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("libGoDispatchMessaging.so").path),
            url.path != "/"
        {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// The path of a product's shared library, e.g. `GoDispatchMessaging`.
    static func library(_ product: String) -> String { "\(directory)/lib\(product).so" }
}

/// A fresh temporary folder holding links to the named plugin libraries.
func makePluginDirectory(_ products: [String]) throws -> String {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("godispatch-plugins-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for product in products {
        try FileManager.default.createSymbolicLink(
            atPath: "\(folder)/lib\(product).so", withDestinationPath: BuildProducts.library(product))
    }
    return folder
}

/// The bundled plugins.
let bundledPlugins = ["GoDispatchMessaging", "GoDispatchRooms"]

/// A logger that discards everything (tests assert on frames, not log lines).
let quietLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// Parses a config from text with a fixed environment.
func parseConfig(_ yaml: String, file: String = "test.yaml", environment: [String: String] = [:]) throws -> EngineConfig {
    try ConfigLoader(environment: environment).parse(yaml, file: file)
}

/// The first line-and-column of a config that must fail.
func configErrors(_ yaml: String, environment: [String: String] = [:]) -> [ConfigError] {
    do throws(ConfigErrors) {
        _ = try ConfigLoader(environment: environment).parse(yaml, file: "bad.yaml")
        return []
    } catch {
        return error.errors
    }
}

/// Builds an engine on `yaml` with the given plugins.
func makeEngine(_ yaml: String, plugins: [String] = bundledPlugins) throws -> Engine {
    let config = try parseConfig(yaml)
    return try Engine(settings: config, pluginsDirectory: try makePluginDirectory(plugins), logger: quietLogger)
}

/// A minimal valid head for test configs.
let configHead = """
    auth:
      jwt:
        secret: test-secret
    """
