"""The README's quickstart, run as written (quickstart_driver.py) against this checkout's build, laid out
as `make build` leaves it (dist/bin, dist/plugins) beside the shipped config.yaml, in a network namespace
of its own so the config's port 8080 is free."""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from conftest import BINARY, BUNDLED, BUILD, ROOT


def test_the_readme_quickstart_works_as_written():
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first (make test does)"
    assert shutil.which("unshare") and shutil.which("ip"), "needs unshare and ip (util-linux, iproute2)"
    with tempfile.TemporaryDirectory() as folder:
        work = pathlib.Path(folder)
        (work / "dist" / "bin").mkdir(parents=True)
        (work / "dist" / "plugins").mkdir()
        (work / "plugins").mkdir()  # the user's plugins folder, which a clone has
        (work / "dist" / "bin" / "godispatch").symlink_to(BINARY)
        for name in BUNDLED:
            (work / "dist" / "plugins" / f"libGoDispatch{name}.so").symlink_to(BUILD / f"libGoDispatch{name}.so")
        shutil.copy(ROOT / "config.yaml", work / "config.yaml")
        namespace = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--net"]
        driver = pathlib.Path(__file__).with_name("quickstart_driver.py")
        result = subprocess.run(namespace + [sys.executable, str(driver), str(work), str(ROOT / "README.md")],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
