#!/usr/bin/env bash
# From a fresh clone: set up, build, create a store with one provider and
# one key, start nginx with the module on 127.0.0.1:${LLMPROXY_PORT:-8080},
# and print how to point Claude Code (or curl) at it.
#
# A real provider comes from the environment:
#   LLMPROXY_PROVIDER_URL     e.g. https://api.deepseek.com/v1 (openai) or https://api.anthropic.com
#   LLMPROXY_PROVIDER_KEY     its API key
#   LLMPROXY_PROVIDER_FORMAT  openai (default) or anthropic
#   LLMPROXY_PROVIDER_MODEL   the provider's model every request is routed to
# Without LLMPROXY_PROVIDER_URL a small local DEMO provider (scripts/mock-provider.mjs)
# answers instead, so this works offline.
#
# Stop everything with: scripts/quickstart.sh stop
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PORT="${LLMPROXY_PORT:-8080}"
HOME_DIR="${LLMPROXY_HOME:-$ROOT/build/quickstart}"
CTL=("$ROOT/build/llmproxy-ctl" --store "$HOME_DIR/store" --master-key "$HOME_DIR/master.key")

stop() {
    for f in "$HOME_DIR/nginx.pid" "$HOME_DIR/demo-provider.pid"; do
        pid="$(cat "$f" 2>/dev/null || true)"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$f"
    done
}

if [ "${1:-}" = "stop" ]; then
    stop
    echo "quickstart: stopped"
    exit 0
fi

scripts/setup.sh
scripts/build.sh
stop
mkdir -p "$HOME_DIR/logs" "$HOME_DIR/tmp"
"${CTL[@]}" init >/dev/null

if [ -n "${LLMPROXY_PROVIDER_URL:-}" ]; then
    FORMAT="${LLMPROXY_PROVIDER_FORMAT:-openai}"
    MODEL="${LLMPROXY_PROVIDER_MODEL:?set LLMPROXY_PROVIDER_MODEL to the provider model to route to}"
    args=(--format "$FORMAT" --base-url "$LLMPROXY_PROVIDER_URL")
    [ -n "${LLMPROXY_PROVIDER_KEY:-}" ] && args+=(--api-key "$LLMPROXY_PROVIDER_KEY")
    "${CTL[@]}" provider rm main >/dev/null 2>&1 || true
    "${CTL[@]}" route rm default >/dev/null 2>&1 || true
    "${CTL[@]}" provider add main "${args[@]}" >/dev/null
    "${CTL[@]}" route set default "main/$MODEL" >/dev/null
    PROVIDER_DESC="provider 'main' ($FORMAT, $LLMPROXY_PROVIDER_URL), model $MODEL"
else
    DEMO_PORT="${LLMPROXY_DEMO_PORT:-$((PORT + 1))}"
    node "$ROOT/scripts/mock-provider.mjs" --format openai --port "$DEMO_PORT" \
        >"$HOME_DIR/logs/demo-provider.log" 2>&1 &
    echo $! >"$HOME_DIR/demo-provider.pid"
    "${CTL[@]}" route rm default >/dev/null 2>&1 || true
    "${CTL[@]}" provider rm demo >/dev/null 2>&1 || true
    "${CTL[@]}" provider add demo --format openai --base-url "http://127.0.0.1:$DEMO_PORT/v1" \
        --api-key demo-provider-key >/dev/null
    "${CTL[@]}" route set default demo/demo-model >/dev/null
    PROVIDER_DESC="the local DEMO provider on 127.0.0.1:$DEMO_PORT (canned replies; set LLMPROXY_PROVIDER_URL for a real one)"
fi

KEY="$("${CTL[@]}" --json key create "quickstart-$(date +%s)" | jq -r .key)"

RESOLVER="$(awk '/^nameserver/ {print $2; exit}' /etc/resolv.conf 2>/dev/null || true)"
case "$RESOLVER" in *:*) RESOLVER="[$RESOLVER]";; esac
{
    echo "load_module $ROOT/build/ngx_http_llmproxy_module.so;"
    # As root, keep the workers as root too: the store under this checkout
    # must be writable (lock file) by them. Production: see README.
    [ "$(id -u)" -eq 0 ] && echo "user root;"
    cat <<CONF
worker_processes 2;
error_log $HOME_DIR/logs/error.log notice;
pid $HOME_DIR/nginx.pid;
events { worker_connections 1024; }
http {
    llmproxy_store $HOME_DIR/store;
    llmproxy_master_key $HOME_DIR/master.key;
    ${RESOLVER:+resolver $RESOLVER valid=60s ipv6=off;}
    access_log $HOME_DIR/logs/access.log;
    client_body_temp_path $HOME_DIR/tmp/body;
    proxy_temp_path $HOME_DIR/tmp/proxy;
    fastcgi_temp_path $HOME_DIR/tmp/fastcgi;
    uwsgi_temp_path $HOME_DIR/tmp/uwsgi;
    scgi_temp_path $HOME_DIR/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT;
        include $ROOT/conf/llmproxy-server.conf;
    }
}
CONF
} >"$HOME_DIR/nginx.conf"

/usr/sbin/nginx -p "$HOME_DIR/" -c "$HOME_DIR/nginx.conf" -e "$HOME_DIR/logs/error.log"
for _ in $(seq 50); do
    curl -fsS -o /dev/null -I "http://127.0.0.1:$PORT/" 2>/dev/null && break
    sleep 0.1
done

cat <<MSG

llmproxy is running on http://127.0.0.1:$PORT, routing every model to
$PROVIDER_DESC.

Use it from Claude Code:
export ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT
export ANTHROPIC_AUTH_TOKEN=$KEY

Try it with curl:
curl -sS http://127.0.0.1:$PORT/v1/messages \\
  -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \\
  -H "x-api-key: $KEY" \\
  -d '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Hello"}]}'

Manage keys, providers and routes (changes apply at once, no reload):
  ${CTL[*]} --help
Logs: $HOME_DIR/logs/   Stop: scripts/quickstart.sh stop
MSG
