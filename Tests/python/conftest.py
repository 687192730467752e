"""Fixtures for the Python witness tests: a real `godispatch serve` (the debug build of this
checkout) on a free port, with the bundled plugins, and tokens minted by `godispatch token`."""

import os
import pathlib
import re
import subprocess
import tempfile
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("GODISPATCH_BUILD_DIR", ROOT / ".build" / "debug"))
BINARY = BUILD / "godispatch"
BUNDLED = ["Messaging", "Rooms", "Permissions", "Webhook"]
SECRET = "python-witness-secret-0123456789abcdef"

CONFIG = f"""
server: {{ listen: "127.0.0.1:0" }}
auth:
  jwt: {{ secret: "{SECRET}" }}
events:
  room.join:
    pipeline:
      - action: _join
        params: {{ room: "{{{{target}}}}" }}
      - action: _notify_origin
        params: {{ event: joined, target: "{{{{target}}}}" }}
  echo:
    pipeline:
      - action: _notify_origin
        params: {{ event: echo, payload: "{{{{payload}}}}" }}
"""


class Server:
    """A running engine: its URL and a way to mint tokens for it."""

    def __init__(self, process, port, config):
        self.process = process
        self.port = port
        self.config = config
        self.url = f"ws://127.0.0.1:{port}/ws"

    def token(self, sub, perms=()):
        args = [str(BINARY), "token", "--config", self.config, "--sub", sub]
        if perms:
            args += ["--perms", ",".join(perms)]
        return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout.strip()


@pytest.fixture
def server():
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first (make test does)"
    with tempfile.TemporaryDirectory() as folder:
        plugins = pathlib.Path(folder) / "plugins"
        plugins.mkdir()
        for name in BUNDLED:
            library = BUILD / f"libGoDispatch{name}.so"
            assert library.exists(), f"{library} is missing"
            (plugins / library.name).symlink_to(library)
        config = pathlib.Path(folder) / "config.yaml"
        config.write_text(CONFIG)
        process = subprocess.Popen(
            [str(BINARY), "serve", "--config", str(config), "--plugins", str(plugins), "--port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        lines = []
        # Read the log until the "listening" line names the port (generous: a busy machine is slow).
        timer = threading.Timer(120, process.kill)
        timer.start()
        for line in process.stderr:
            lines.append(line)
            match = re.search(r"address=\S*:(\d+) .*listening", line)
            if match:
                port = int(match.group(1))
                break
        timer.cancel()
        assert port, "the server did not start:\n" + "".join(lines)
        # Keep draining the log so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
        try:
            yield Server(process, port, str(config))
        finally:
            process.terminate()
            process.wait(timeout=60)
