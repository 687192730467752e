import Foundation

/// Where the package's built products (the plugin `.so` files) are.
public enum BuildProducts {
    /// `GODISPATCH_BUILD_DIR`, or the folder of the running test binary (SwiftPM puts the `.so`
    /// files of `.library(type: .dynamic)` products next to it).
    public static let directory: String = {
        if let override = ProcessInfo.processInfo.environment["GODISPATCH_BUILD_DIR"] { return override }
        var url = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("libGoDispatchMessaging.so").path),
            url.path != "/"
        {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// The path of a product's shared library, e.g. `GoDispatchMessaging`.
    public static func library(_ product: String) -> String { "\(directory)/lib\(product).so" }
}

/// The bundled plugins' products.
public let bundledPlugins = ["GoDispatchMessaging", "GoDispatchRooms", "GoDispatchPermissions", "GoDispatchWebhook", "GoDispatchPresence", "GoDispatchHistory"]

/// A fresh temporary folder holding links to the named plugin libraries.
public func makePluginDirectory(_ products: [String]) throws -> String {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("godispatch-plugins-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for product in products {
        try FileManager.default.createSymbolicLink(
            atPath: "\(folder)/lib\(product).so", withDestinationPath: BuildProducts.library(product))
    }
    return folder
}

/// The repository's root folder (this file is `<root>/Tests/GoDispatchTestSupport/BuildProducts.swift`).
public let repositoryRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// Adds links to plugin files given by path (for plugins built outside this package).
public func addPlugins(_ paths: [String], to folder: String) throws {
    for path in paths {
        let name = URL(fileURLWithPath: path).lastPathComponent
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/\(name)", withDestinationPath: path)
    }
}
