#!/usr/bin/env python3
"""The chat demo's web side (`make demo`): serves the page and mints tokens. DEV ONLY.

It hands a signed token to anyone who asks for one by name, which is exactly what a production backend
must never do: there, your own login decides who gets a token (see the README's "Security model"). It
binds 127.0.0.1 only and says so at start. Python's standard library only.

  GET  /                 the chat page (index.html, app.js, style.css)
  GET  /godispatch.js    the browser client (clients/js/godispatch.js)
  POST /token            {"name": "Ada"} -> {"token": <HS256 JWT>, "user": "ada", "ws": <WebSocket URL>}
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLIENT = HERE.parent.parent / "clients" / "js" / "godispatch.js"
SECRET = os.environ.get("GODISPATCH_DEMO_SECRET", "demo-secret-dev-only-do-not-deploy-0123456789").encode()
WEB_PORT = int(os.environ.get("GODISPATCH_DEMO_WEB_PORT", "8000"))
WS_URL = os.environ.get("GODISPATCH_DEMO_WS", "ws://127.0.0.1:8090/ws")
TOKEN_TTL = int(os.environ.get("GODISPATCH_DEMO_TOKEN_TTL", "600"))  # seconds: short, so refresh is exercised

FILES = {
    "/": (HERE / "index.html", "text/html; charset=utf-8"),
    "/index.html": (HERE / "index.html", "text/html; charset=utf-8"),
    "/app.js": (HERE / "app.js", "text/javascript; charset=utf-8"),
    "/style.css": (HERE / "style.css", "text/css; charset=utf-8"),
    "/godispatch.js": (CLIENT, "text/javascript; charset=utf-8"),
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(user: str, name: str) -> str:
    """An HS256 JWT the demo's config accepts: sub, name, perms, whole-second iat/exp."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"sub": user, "name": name, "perms": ["chat:write"], "iat": now, "exp": now + TOKEN_TTL}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def user_id(name: str) -> str:
    """A stable id per display name, so two tabs with one name are one user (one presence entry)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "guest"


class Handler(BaseHTTPRequestHandler):
    server_version = "godispatch-demo"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path not in FILES:
            return self.answer(404, b"not found\n", "text/plain")
        file, kind = FILES[path]
        self.answer(200, file.read_bytes(), kind)

    def do_POST(self):
        if self.path != "/token":
            return self.answer(404, b"not found\n", "text/plain")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            name = str(json.loads(self.rfile.read(min(length, 4096)) or b"{}").get("name", "")).strip()
        except (ValueError, AttributeError):
            name = ""
        if not 1 <= len(name) <= 32:
            return self.answer(400, b'{"error":"a name of 1 to 32 characters"}', "application/json")
        body = json.dumps({"token": mint(user_id(name), name), "user": user_id(name), "name": name, "ws": WS_URL})
        self.answer(200, body.encode(), "application/json")

    def answer(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", WEB_PORT), Handler)
    print("DEV ONLY: this demo hands a token to anyone who asks; it listens on 127.0.0.1 only.", file=sys.stderr)
    print(f"chat demo: http://127.0.0.1:{server.server_address[1]}/  (open it in two windows)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
