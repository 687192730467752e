#!/usr/bin/env bash
# Installs GoDispatch under PREFIX from a build folder (`make install` and `make dist` call it):
#   PREFIX/bin/godispatch                         a link to PREFIX/lib/godispatch/godispatch, the engine (stripped)
#   PREFIX/lib/godispatch/*.so                    with WITH_SWIFT_RUNTIME=1 (make dist): the Swift runtime
#                                                 libraries, found beside the engine through its $ORIGIN runpath
#   PREFIX/lib/godispatch/plugins/*.so            the bundled plugins
#   PREFIX/include/godispatch/godispatch_plugin.h the plugin ABI header (for C plugins)
#   SYSCONFDIR/godispatch/config.yaml             the shipped config, its plugins directory pointing at the above
#   PREFIX/lib/systemd/system/godispatch.service  a systemd unit whose paths match
# Usage: scripts/install.sh PREFIX BUILD_DIR  (env: DESTDIR to stage elsewhere, SYSCONFDIR, default PREFIX/etc)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${1:?usage: scripts/install.sh PREFIX BUILD_DIR}"
build="${2:?usage: scripts/install.sh PREFIX BUILD_DIR}"
case "$prefix" in /*) ;; *) echo "install: PREFIX must be an absolute path, got $prefix" >&2; exit 1 ;; esac
sysconfdir="${SYSCONFDIR:-$prefix/etc}"
root="${DESTDIR:-}"
plugins=(GoDispatchMessaging GoDispatchRooms GoDispatchPermissions GoDispatchWebhook GoDispatchPresence GoDispatchHistory)

test -x "$build/godispatch" || { echo "install: $build/godispatch is missing: run make build first" >&2; exit 1; }
install -d "$root$prefix/bin" "$root$prefix/lib/godispatch/plugins" "$root$prefix/include/godispatch" \
  "$root$sysconfdir/godispatch" "$root$prefix/lib/systemd/system"

install -m 755 "$build/godispatch" "$root$prefix/lib/godispatch/godispatch"
strip --strip-all "$root$prefix/lib/godispatch/godispatch"
ln -sfn ../lib/godispatch/godispatch "$root$prefix/bin/godispatch"
if [ "${WITH_SWIFT_RUNTIME:-0}" = 1 ]; then
  # The toolchain's runtime libraries the engine loads (the plugins load the same ones, already in memory).
  runtime="$(dirname "$(ldd "$build/godispatch" | awk '/libswiftCore\.so/ {print $3}')")"
  ldd "$build/godispatch" | awk -v dir="$runtime/" 'index($3, dir) == 1 {print $3}' | while read -r library; do
    install -m 644 "$library" "$root$prefix/lib/godispatch/"
  done
fi
for plugin in "${plugins[@]}"; do
  install -m 644 "$build/lib$plugin.so" "$root$prefix/lib/godispatch/plugins/"
  # The dynamic symbol table stays (the engine resolves the entry symbol through it).
  strip --strip-unneeded "$root$prefix/lib/godispatch/plugins/lib$plugin.so"
done
install -m 644 PluginKit/Sources/CGoDispatchABI/include/godispatch_plugin.h "$root$prefix/include/godispatch/"

# The shipped config, reading the installed plugins (an existing config is never overwritten).
config="$root$sysconfdir/godispatch/config.yaml"
if [ -e "$config" ]; then
  echo "install: keeping the existing $config (the new one is config.yaml.new beside it)"
  config="$config.new"
fi
sed -e "s|^  directory: \[\"\${GODISPATCH_PLUGINS:-dist/plugins}\", plugins\]$|  directory: \"\${GODISPATCH_PLUGINS:-$prefix/lib/godispatch/plugins}\"|" \
  config.yaml > "$config"
grep -q "$prefix/lib/godispatch/plugins" "$config" || { echo "install: could not point config.yaml at the plugins" >&2; exit 1; }
chmod 644 "$config"

sed -e "s|@PREFIX@|$prefix|g" -e "s|@SYSCONFDIR@|$sysconfdir|g" packaging/godispatch.service.in \
  > "$root$prefix/lib/systemd/system/godispatch.service"

echo "installed godispatch $("$root$prefix/bin/godispatch" --version) under $root$prefix"
