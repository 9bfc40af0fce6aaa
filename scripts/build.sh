#!/usr/bin/env bash
# Builds the core library, llmproxy-ctl and the unit tests (CMake), then the
# nginx dynamic module exactly as Debian builds its libnginx-mod-* packages
# (conf_flags + --with-compat, dpkg-buildflags), and checks that the stock
# /usr/sbin/nginx loads it (`nginx -t`).
# Outputs: build/ngx_http_llmproxy_module.so, build/llmproxy-ctl.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"
NGX_SRC=/usr/share/nginx/src

cmake -S "$ROOT" -B "$ROOT/build/cmake" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DLLMPROXY_OUT="$ROOT/build" >/dev/null
cmake --build "$ROOT/build/cmake" -j"$JOBS"

NGX_BUILD="$ROOT/build/ngx"
# Reconfigure when the glue's build inputs change, including the set of core
# headers it depends on (config lists them in the Makefile's dependencies).
HEADERS="$(cd "$ROOT" && ls src/core/*.hpp src/ngx/*.hpp | tr '\n' ' ')"
if [ ! -f "$NGX_BUILD/Makefile" ] || [ "$ROOT/config" -nt "$NGX_BUILD/Makefile" ] \
        || [ "$ROOT/config.make" -nt "$NGX_BUILD/Makefile" ] \
        || [ "$HEADERS" != "$(cat "$NGX_BUILD/headers.list" 2>/dev/null)" ]; then
    mkdir -p "$NGX_BUILD"
    (
        cd "$NGX_SRC"
        # shellcheck disable=SC1091
        . ./conf_flags
        ./configure \
            --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS)" \
            --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC" \
            "${NGX_CONF_FLAGS[@]}" \
            --add-dynamic-module="$ROOT" \
            --builddir="$NGX_BUILD" >"$NGX_BUILD/configure.log" 2>&1 \
            || { cat "$NGX_BUILD/configure.log"; exit 1; }
    )
    printf '%s' "$HEADERS" >"$NGX_BUILD/headers.list"
fi
# The module links the core archive: relink when it changed.
if [ -f "$NGX_BUILD/ngx_http_llmproxy_module.so" ] \
        && [ "$ROOT/build/libllmproxy_core.a" -nt "$NGX_BUILD/ngx_http_llmproxy_module.so" ]; then
    rm -f "$NGX_BUILD/ngx_http_llmproxy_module.so"
fi
make -s -f "$NGX_BUILD/Makefile" -C "$NGX_SRC" -j"$JOBS" modules
# Replace, never overwrite in place: a running nginx that has the old .so
# mapped would crash if its pages changed under it.
cp "$NGX_BUILD/ngx_http_llmproxy_module.so" "$ROOT/build/.ngx_http_llmproxy_module.so.tmp"
mv -f "$ROOT/build/.ngx_http_llmproxy_module.so.tmp" "$ROOT/build/ngx_http_llmproxy_module.so"

# Debian's own module test: the stock binary must load the module.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/nginx.conf" <<CONF
load_module $ROOT/build/ngx_http_llmproxy_module.so;
events {}
CONF
/usr/sbin/nginx -g "error_log /dev/null; pid /dev/null;" -t -q -p "$tmp" -c "$tmp/nginx.conf" -e /dev/null
echo "build: ok (build/ngx_http_llmproxy_module.so, build/llmproxy-ctl)"
