"""Fixtures for the browser tests: clients/js/godispatch.js in a real headless Chromium against a real
`godispatch serve` (the debug build of this checkout) on the shipped config.yaml.

- `server`: the engine on free ports (WebSocket and backend API), with a random JWT secret and API key;
- `site`: a static HTTP server on 127.0.0.1:0 serving clients/js/ at /client/, the test page
  (Tests/browser/page/) at /, and /token?sub=&perms=&ttl= minting HS256 tokens for `server`, as an
  app's backend would;
- `open_tab`: opens a Chromium (one driver per tab, so tabs are independent clients) on the test page.

Chromium and chromedriver are Debian's (`apt-get install chromium chromium-driver`), found on PATH."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("GODISPATCH_BUILD_DIR", ROOT / ".build" / "debug"))
BINARY = BUILD / "godispatch"
BUNDLED = ["Messaging", "Rooms", "Permissions", "Webhook", "History", "Presence"]
CONFIG = ROOT / "config.yaml"
CLIENT = ROOT / "clients" / "js"
PAGE = pathlib.Path(__file__).resolve().parent / "page"
WAIT = 30  # seconds: every wait for a condition (a 2-core machine under load)

# The listeners' log lines (as in Tests/python/conftest.py): the WebSocket one names `path=`.
WEBSOCKET_LINE = re.compile(r"address=\S*:(\d+) path=\S+ .*\blistening\s*$")
API_LINE = re.compile(r"address=\S*:(\d+) .*\bAPI listening\s*$")


def mint(secret, sub, perms=(), ttl=3600):
    """An HS256 JWT for `sub` with `perms`, expiring `ttl` seconds from now."""
    def encode(data):
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=")

    now = int(time.time())
    signing_input = encode({"alg": "HS256", "typ": "JWT"}) + b"." + encode(
        {"sub": sub, "perms": list(perms), "iat": now, "exp": now + ttl})
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


class Server:
    """A running engine on the shipped config: its URLs, secret and API."""

    def __init__(self, process, port, api_port, secret, api_key, log):
        self.process = process
        self.url = f"ws://127.0.0.1:{port}/ws"
        self.api_url = f"http://127.0.0.1:{api_port}/api"
        self.secret = secret
        self.api_key = api_key
        self.log = log

    def api(self, method, body):
        """The `result` of an API call that must succeed."""
        request = urllib.request.Request(f"{self.api_url}/{method}", data=json.dumps(body).encode(),
                                         headers={"X-API-Key": self.api_key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            reply = json.load(response)
        assert "result" in reply, f"{method} {body} answered {reply}"
        return reply["result"]


@pytest.fixture(scope="session")
def server():
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first (make test-browser does)"
    secret, api_key = secrets.token_hex(24), secrets.token_hex(16)
    env = {key: value for key, value in os.environ.items() if not key.startswith("GODISPATCH_")}
    env.update(GODISPATCH_JWT_SECRET=secret, GODISPATCH_API_KEY=api_key)
    with tempfile.TemporaryDirectory() as folder:
        plugins = pathlib.Path(folder) / "plugins"
        plugins.mkdir()
        for name in BUNDLED:
            library = BUILD / f"libGoDispatch{name}.so"
            assert library.exists(), f"{library} is missing: run `swift build` first"
            (plugins / library.name).symlink_to(library)
        args = [str(BINARY), "serve", "--config", str(CONFIG), "--plugins", str(plugins), "--port", "0",
                "--api-port", "0"]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        lines, port, api_port = [], None, None
        timer = threading.Timer(120, process.kill)  # a stuck start fails the run instead of hanging it
        timer.start()
        for line in process.stderr:
            lines.append(line)
            if match := API_LINE.search(line):
                api_port = int(match.group(1))
            elif match := WEBSOCKET_LINE.search(line):
                port = int(match.group(1))
            if port and api_port:
                break
        timer.cancel()
        if not (port and api_port):
            process.kill()
            process.wait(timeout=60)
            raise AssertionError("the server did not start:\n" + "".join(lines))
        threading.Thread(target=lambda: [lines.append(line) for line in process.stderr], daemon=True).start()
        try:
            yield Server(process, port, api_port, secret, api_key, lines)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=60)


@pytest.fixture(scope="session")
def site(server):
    """The static server's base URL."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                return super().do_GET()
            query = urllib.parse.parse_qs(url.query)
            perms = [p for p in query.get("perms", [""])[0].split(",") if p]
            token = mint(server.secret, query["sub"][0], perms, int(query.get("ttl", ["3600"])[0])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(token)))
            self.end_headers()
            self.wfile.write(token)

        def translate_path(self, path):
            if path.startswith("/client/"):
                self.directory, path = str(CLIENT), path[len("/client"):]
            else:
                self.directory = str(PAGE)
            return super().translate_path(path)

        def end_headers(self):
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Tab:
    """One Chromium on the test page, with one client (window.h in page/harness.js)."""

    def __init__(self, driver, server):
        self.driver = driver
        self.server = server

    def start(self, sub, perms=("chat:write",), ttl=3600, **options):
        self.driver.execute_script("start(arguments[0])", {"url": self.server.url, "sub": sub, "perms": list(perms),
                                                           "ttl": ttl, "options": options})
        self.wait("h.client.state === 'connected'", f"{sub} connected")

    def js(self, expression, *args):
        return self.driver.execute_script(f"return ({expression})", *args)

    def call(self, method, *args):
        """A client method's result: {"ok": value} or {"error": {"code", "message"}}."""
        return self.driver.execute_async_script("call(arguments[0], arguments[1], arguments[2])", method, list(args))

    def wait(self, expression, what, *args, timeout=WAIT):
        """Polls a JS expression until it is truthy; fails naming `what` with the page's log."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; page log: {self.log()}")
            time.sleep(0.05)  # the polling interval, not a wait for something to happen

    def log(self, type=None):
        return self.js("h.log.filter(e => !arguments[0] || e.type === arguments[0])", type)

    def texts(self, room):
        return self.js("texts(arguments[0])", room)


@pytest.fixture
def open_tab(server, site):
    """Opens tabs (each its own headless Chromium); all are closed after the test."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and chromedriver, "install Debian's chromium and chromium-driver"
    drivers = []

    def launch():
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--no-first-run", "--disable-extensions"):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        drivers.append(driver)
        driver.set_script_timeout(WAIT * 2)
        driver.get(f"{site}/index.html")
        tab = Tab(driver, server)
        tab.wait("typeof window.start === 'function'", "the test page to load its module")
        return tab

    try:
        yield launch
    finally:
        for driver in drivers:
            driver.quit()
