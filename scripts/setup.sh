#!/usr/bin/env bash
# Installs everything llmproxy needs on Debian bookworm: build tools, nginx
# and its module headers, libraries, test and benchmark tools, and the npm
# packages the integration tests use (from t/package-lock.json). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    build-essential cmake pkg-config git ca-certificates curl
    nginx-core nginx-dev
    liblmdb-dev lmdb-utils rapidjson-dev libssl-dev libpcre2-dev zlib1g-dev
    libgtest-dev libbenchmark-dev
    clang libclang-rt-14-dev
    wrk jq
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's nginx package starts a server on port 80 on install; llmproxy's
# scripts run their own nginx processes and never need that one.

if [ -f t/package-lock.json ]; then
    if [ ! -d t/node_modules ] || [ t/package-lock.json -nt t/node_modules/.package-lock.json ]; then
        echo "setup: installing npm packages for t/"
        (cd t && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
echo "setup: ok"
