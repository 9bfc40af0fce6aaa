#!/usr/bin/env bash
# Every test: setup (idempotent), build, unit tests (CTest), a bounded fuzz
# run, the integration tests in t/ (real nginx + module + store + mock
# providers + real clients), and a smoke run of the benchmark harness.
# Exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

step "setup"
scripts/setup.sh

step "build"
scripts/build.sh

step "unit tests"
ctest --test-dir build/cmake --output-on-failure -j"$(nproc)"

if [ -x scripts/fuzz.sh ]; then
    step "fuzz (${FUZZ_SECONDS:-10}s per target)"
    scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
fi

step "integration tests"
(cd t && node --test --test-concurrency=1 ./*.test.mjs)

if [ -x scripts/bench.sh ]; then
    step "benchmark harness smoke run (not a timing check)"
    scripts/bench.sh --smoke
fi

printf '\nall tests passed\n'
