#!/usr/bin/env bash
# Creates (or refreshes) the repository's Python venv, .venv, with the witness clients of
# Tests/python/requirements.txt. Idempotent: reinstalls only when the requirements changed.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=Tests/python/requirements.txt
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi
