"""Fixtures for the Python witness tests: a real `godispatch serve` (the debug build of this
checkout) on free ports, with the bundled plugins, and tokens minted by `godispatch token`.

Two kinds of server:
- `server`: a small config of its own (WebSocket only), for the client witnesses;
- `shipped`: the repository's own config.yaml, unmodified, as `make run` serves it, with its backend
  API on a free port and a random API key and JWT secret in the environment (issue 12: "cent and curl
  drive every method against a running make run"). `start_shipped` starts more of them (e.g. with
  GODISPATCH_DRAIN_DELAY set)."""

import contextlib
import json
import os
import pathlib
import re
import secrets
import subprocess
import tempfile
import threading
import time

import pytest
import requests
from websockets.sync.client import connect

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("GODISPATCH_BUILD_DIR", ROOT / ".build" / "debug"))
BINARY = BUILD / "godispatch"
BUNDLED = ["Messaging", "Rooms", "Permissions", "Webhook", "History", "Presence"]
SECRET = "python-witness-secret-0123456789abcdef"
SHIPPED_CONFIG = ROOT / "config.yaml"
WAIT = 30  # seconds: every wait for a frame, an answer or an exit (a 2-core machine under load)

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

# The log lines that name the listeners' addresses, e.g.
#   notice godispatch: address=[IPv4]127.0.0.1/127.0.0.1:40623 [GoDispatchServer] API listening
#   notice godispatch: address=[IPv4]127.0.0.1/127.0.0.1:44725 path=/ws [GoDispatchServer] listening
# The WebSocket line is the one with `path=`; the API's says `API listening`.
WEBSOCKET_LINE = re.compile(r"address=\S*:(\d+) path=\S+ .*\blistening\s*$")
API_LINE = re.compile(r"address=\S*:(\d+) .*\bAPI listening\s*$")


def plugin_folder(folder):
    """A folder with symlinks to the bundled plugins of this build."""
    plugins = pathlib.Path(folder) / "plugins"
    plugins.mkdir()
    for name in BUNDLED:
        library = BUILD / f"libGoDispatch{name}.so"
        assert library.exists(), f"{library} is missing: run `swift build` first (make test does)"
        (plugins / library.name).symlink_to(library)
    return plugins


def clean_environment(**extra):
    """This process's environment without any GODISPATCH_* setting, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GODISPATCH_")}
    env.update(extra)
    return env


class Server:
    """A running engine: its URLs, its log, and a way to mint tokens for it."""

    def __init__(self, process, port, config, env=None, api_port=None, api_key=None, log=None):
        self.process = process
        self.port = port
        self.config = config
        self.env = env
        self.url = f"ws://127.0.0.1:{port}/ws"
        self.api_port = api_port
        self.api_key = api_key
        self.base = f"http://127.0.0.1:{api_port}" if api_port else None
        self.api_url = f"{self.base}/api" if api_port else None
        self.log = log if log is not None else []

    def token(self, sub, perms=()):
        args = [str(BINARY), "token", "--config", self.config, "--sub", sub]
        if perms:
            args += ["--perms", ",".join(perms)]
        return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60, env=self.env).stdout.strip()

    @contextlib.contextmanager
    def connect(self, sub, perms=(), **options):
        """A real WebSocket client authenticated as `sub`, registered with the engine when it is entered."""
        with connect(self.url, additional_headers={"Authorization": f"Bearer {self.token(sub, perms)}"},
                     open_timeout=WAIT, **options) as ws:
            probe(ws)
            yield ws

    def api(self, method, body=None, key=None, raw=None):
        """POSTs one API call with `requests`; returns the response (status and JSON checked by callers)."""
        headers = {"X-API-Key": self.api_key if key is None else key, "Content-Type": "application/json"}
        data = raw if raw is not None else json.dumps({} if body is None else body)
        return requests.post(f"{self.api_url}/{method}", data=data, headers=headers, timeout=WAIT)

    def result(self, method, body=None):
        """The `result` of a call that must succeed."""
        response = self.api(method, body)
        assert response.status_code == 200, response.text
        reply = response.json()
        assert "result" in reply, f"{method} {body} answered {reply}"
        return reply["result"]

    def log_text(self):
        return "".join(self.log)


_probes = iter(range(1, 1 << 62))


def probe(ws):
    """A round trip through the engine: an unknown event with an id comes back as an error frame naming
    that id. When it has, the connection is registered (its user is known, its connect pipeline ran)."""
    ref = f"probe-{next(_probes)}"
    ws.send(json.dumps({"event": "_probe.unknown", "id": ref}))
    frames = []
    deadline = time.monotonic() + WAIT
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("event") == "error" and frame.get("payload", {}).get("ref") == ref:
            assert frame["payload"]["code"] == "unknown_event", frame
            return frames
        frames.append(frame)


def start(config, plugins, env=None, api=False, extra_args=(), binary=BINARY):
    """Starts `godispatch serve` (`binary`; `plugins` None: the config's own plugins directory) and reads its
    log until the listeners are named. Returns the process, the ports and the log, which keeps filling from
    a background thread (so the server never blocks on a full pipe)."""
    args = [str(binary), "serve", "--config", str(config), "--port", "0"]
    if plugins is not None:
        args += ["--plugins", str(plugins)]
    if api:
        args += ["--api-port", "0"]
    args += list(extra_args)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    port = api_port = None
    lines = []
    # Read the log until the "listening" lines name the ports (generous: a busy machine is slow).
    timer = threading.Timer(120, process.kill)
    timer.start()
    for line in process.stderr:
        lines.append(line)
        if match := API_LINE.search(line):
            api_port = int(match.group(1))
        elif match := WEBSOCKET_LINE.search(line):
            port = int(match.group(1))
        if port and (api_port or not api):
            break
    timer.cancel()
    if not port or (api and not api_port):
        process.kill()
        process.wait(timeout=60)
        raise AssertionError("the server did not start:\n" + "".join(lines))
    threading.Thread(target=lambda: [lines.append(line) for line in process.stderr], daemon=True).start()
    return process, port, api_port, lines


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=60)


@pytest.fixture
def server():
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first (make test does)"
    with tempfile.TemporaryDirectory() as folder:
        plugins = plugin_folder(folder)
        config = pathlib.Path(folder) / "config.yaml"
        config.write_text(CONFIG)
        process, port, _, lines = start(config, plugins)
        try:
            yield Server(process, port, str(config), log=lines)
        finally:
            stop(process)


@pytest.fixture
def start_shipped():
    """Starts servers on the shipped config.yaml: `start_shipped(GODISPATCH_DRAIN_DELAY="2s")`. Each gets a
    random API key (GODISPATCH_API_KEY) and JWT secret (GODISPATCH_JWT_SECRET); all are stopped after."""
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first (make test does)"
    assert SHIPPED_CONFIG.exists(), f"{SHIPPED_CONFIG} is missing"
    started = []
    with tempfile.TemporaryDirectory() as folder:
        plugins = plugin_folder(folder)

        def launch(**settings):
            key = secrets.token_hex(16)
            env = clean_environment(**{"GODISPATCH_API_KEY": key, "GODISPATCH_JWT_SECRET": secrets.token_hex(24), **settings})
            process, port, api_port, lines = start(SHIPPED_CONFIG, plugins, env=env, api=True)
            started.append(process)
            return Server(process, port, str(SHIPPED_CONFIG), env=env, api_port=api_port, api_key=env["GODISPATCH_API_KEY"], log=lines)

        try:
            yield launch
        finally:
            for process in started:
                stop(process)


@pytest.fixture
def shipped(start_shipped):
    """One server on the shipped config.yaml, with its API."""
    return start_shipped()


def frame(ws):
    """The next frame a client receives, as JSON (waits up to WAIT seconds)."""
    return json.loads(ws.recv(timeout=WAIT))


def close_received(ws):
    """Reads until the server closes the connection; returns the close frame it sent (code, reason)."""
    from websockets.exceptions import ConnectionClosed
    deadline = time.monotonic() + WAIT
    try:
        while True:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionClosed:
        pass
    received = ws.protocol.close_rcvd
    assert received is not None, "the connection ended without a close frame from the server"
    return received.code, received.reason
