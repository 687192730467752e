#!/usr/bin/env bash
# Creates (or refreshes) the browser tests' venv, .venv/browser, with Tests/browser/requirements.txt.
# Apart from .venv (scripts/python-venv.sh) so the two pin lists never fight. Idempotent: reinstalls
# only when the requirements changed. Chromium and chromedriver come from apt (chromium, chromium-driver).
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=Tests/browser/requirements.txt
venv=.venv/browser
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi
