#!/usr/bin/env bash
# `make demo`: the chat demo. Starts the GoDispatch server on Examples/chat-web/config.yaml and the demo's
# dev-only web side (Examples/chat-web/serve.py: the page and a token issuer), prints the URL, and stops
# both on Ctrl-C. Needs `make build` (dist/). Addresses: GODISPATCH_DEMO_WEB_PORT (8000) for the page,
# GODISPATCH_DEMO_LISTEN (127.0.0.1:8090) for WebSockets, GODISPATCH_DEMO_API_LISTEN (127.0.0.1:9090) for the
# API and its /admin dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."

test -x dist/bin/godispatch || { echo "make demo: dist/bin/godispatch is missing; run make build first" >&2; exit 1; }
export GODISPATCH_DEMO_WEB_PORT="${GODISPATCH_DEMO_WEB_PORT:-8000}"
export GODISPATCH_DEMO_LISTEN="${GODISPATCH_DEMO_LISTEN:-127.0.0.1:8090}"
export GODISPATCH_DEMO_API_LISTEN="${GODISPATCH_DEMO_API_LISTEN:-127.0.0.1:9090}"
export GODISPATCH_DEMO_WS="ws://${GODISPATCH_DEMO_LISTEN}/ws"
export GODISPATCH_PLUGINS="$PWD/dist/plugins"

dist/bin/godispatch serve --config Examples/chat-web/config.yaml --log-level notice &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT INT TERM

# Wait until the server answers /ready (it loads plugins first), or give up if it exits.
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://${GODISPATCH_DEMO_API_LISTEN}/ready" 2>/dev/null; then break; fi
  kill -0 "$server" 2>/dev/null || { echo "make demo: the server did not start (see above)" >&2; exit 1; }
  sleep 0.2
done

echo
echo "  Chat:       http://127.0.0.1:${GODISPATCH_DEMO_WEB_PORT}/   (open it in two windows, pick two names)"
echo "  Dashboard:  http://${GODISPATCH_DEMO_API_LISTEN}/admin   (API key: ${GODISPATCH_DEMO_API_KEY:-demo-api-key-dev-only-0123456789})"
echo "  Ctrl-C stops both."
echo
python3 Examples/chat-web/serve.py
