#!/usr/bin/env bash
# Builds the example Swift plugin the way a third party does: in a package of its own that depends on the
# GoDispatch repository by URL and version, here a `file://` URL of a tagged clone of this repository's
# HEAD. Output: .build-url/hello-plugin/.build/release/libHelloPlugin.so, which the tests load
# (ExamplePluginTests). `make examples` runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/.build-url"
version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$root/Sources/GoDispatchCore/Version.swift")"
test -n "$version" || { echo "build-plugin-by-url: no version in Sources/GoDispatchCore/Version.swift" >&2; exit 1; }

# A clone named like the repository (SwiftPM names a URL dependency after the URL's last component), in a
# folder per commit: SwiftPM caches repositories by URL, so a new HEAD under an old URL would resolve the
# cached tag. `$work/godispatch` links to the current one (scripts/build-doc-snippets.py uses it).
commit="$(git -C "$root" rev-parse --short=12 HEAD)"
clone="$work/clones/$commit/godispatch"
rm -rf "$work/clones" "$work/godispatch"
mkdir -p "$(dirname "$clone")"
git clone -q --no-hardlinks "$root" "$clone"
git -C "$clone" tag "$version"
ln -sfn "$clone" "$work/godispatch"

plugin="$work/hello-plugin"
mkdir -p "$plugin"
rm -rf "$plugin/Sources"
cp -R "$root/Examples/hello-plugin/Sources" "$root/Examples/hello-plugin/exports.map" "$plugin/"
cat > "$plugin/Package.swift" <<SWIFT
// swift-tools-version: 6.1
// Examples/hello-plugin as a third party writes it: the kit by URL and version (here a tagged clone).
import Foundation
import PackageDescription

let versionScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("exports.map").path

let package = Package(
    name: "hello-plugin",
    products: [.library(name: "HelloPlugin", type: .dynamic, targets: ["HelloPlugin"])],
    dependencies: [.package(url: "file://$clone", from: "$version")],
    targets: [
        .target(
            name: "HelloPlugin",
            dependencies: [.product(name: "GoDispatchPluginKit", package: "godispatch")],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(versionScript)"])]
        )
    ]
)
SWIFT
# A fresh resolution and build each time: the URL moves with HEAD (SwiftPM's workspace state remembers
# the old one).
rm -rf "$plugin/Package.resolved" "$plugin/.build"
swift package --package-path "$plugin" resolve
swift build -c release --package-path "$plugin"
echo "built $plugin/.build/release/libHelloPlugin.so against godispatch $version by URL"
