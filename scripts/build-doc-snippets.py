#!/usr/bin/env python3
"""Builds every Swift snippet of docs/PLUGINS.md as one plugin package, so the guide cannot drift from the
kit: the manifest snippet (the block starting `// swift-tools-version`) with its GoDispatch URL pointed at
the tagged clone scripts/build-plugin-by-url.sh made, and each other block as the file its first line
names (`// Sources/<Target>/<File>.swift`). A Swift block that is neither fails the build, naming its
line. Output: .build-url/doc-snippets/.build/release/libHelloPlugin.so (the tests load it).
`make examples` runs it after build-plugin-by-url.sh."""

import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "PLUGINS.md"
WORK = ROOT / ".build-url"
PACKAGE = WORK / "doc-snippets"
CLONE = (WORK / "godispatch").resolve()  # a link to this commit's tagged clone
URL = "https://github.com/<owner>/godispatch.git"


def snippets(text):
    """(line number, code) of every ```swift block, dedented."""
    found = []
    for match in re.finditer(r"^([ \t]*)```swift\n(.*?)^[ \t]*```", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        found.append((line, textwrap.dedent(match.group(2))))
    return found


def main():
    if not (CLONE / ".git").exists():
        sys.exit(f"build-doc-snippets: {CLONE} is missing: run scripts/build-plugin-by-url.sh first")
    shutil.rmtree(PACKAGE / "Sources", ignore_errors=True)
    PACKAGE.mkdir(parents=True, exist_ok=True)
    manifest = None
    files = 0
    for line, code in snippets(GUIDE.read_text()):
        first = code.split("\n", 1)[0].strip()
        if first.startswith("// swift-tools-version"):
            if URL not in code:
                sys.exit(f"docs/PLUGINS.md:{line}: the manifest snippet no longer depends on {URL}")
            manifest = code.replace(URL, f"file://{CLONE}")
        elif match := re.fullmatch(r"// (Sources/[A-Za-z0-9_]+/[A-Za-z0-9_+]+\.swift)", first):
            path = PACKAGE / match.group(1)
            if path.exists():
                sys.exit(f"docs/PLUGINS.md:{line}: a second snippet for {match.group(1)}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
            files += 1
        else:
            sys.exit(f"docs/PLUGINS.md:{line}: a Swift snippet must start with `// Sources/<Target>/<File>.swift` "
                     "(it is compiled with the others) or be the package manifest")
    if manifest is None or files == 0:
        sys.exit("docs/PLUGINS.md: no manifest or no source snippet found")
    (PACKAGE / "Package.swift").write_text(manifest)
    shutil.copy(ROOT / "Examples" / "hello-plugin" / "exports.map", PACKAGE / "exports.map")
    # A fresh resolution and build each time: the clone's URL moves with HEAD (SwiftPM's workspace state
    # remembers the old one).
    (PACKAGE / "Package.resolved").unlink(missing_ok=True)
    shutil.rmtree(PACKAGE / ".build", ignore_errors=True)
    subprocess.run(["swift", "package", "--package-path", str(PACKAGE), "resolve"], check=True)
    subprocess.run(["swift", "build", "-c", "release", "--package-path", str(PACKAGE)], check=True)
    print(f"built the {files} source snippets of docs/PLUGINS.md: {PACKAGE}/.build/release/libHelloPlugin.so")


if __name__ == "__main__":
    main()
