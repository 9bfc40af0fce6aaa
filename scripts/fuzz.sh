#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build/fuzz and runs
# each for SECONDS_PER_TARGET seconds (default 15), starting from the seed
# corpus in src/core/fuzz/corpus/<target>/ (new inputs go to a scratch
# directory, the repository is not touched). Prints what each run found and
# exits non-zero if any target crashed, leaked or tripped a sanitizer or an
# assertion. Crash inputs are kept in build/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail

secs="${1:-15}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build/fuzz"
jobs="${FUZZ_BUILD_JOBS:-2}"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DLLMPROXY_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMPROXY_OUT="$build" >/dev/null 2>&1
targets=()
for src in "$root"/src/core/fuzz/*_fuzz.cpp; do
    targets+=("$(basename "$src" .cpp)")
done
cmake --build "$build" -j"$jobs" --target "${targets[@]}" 2>&1 | grep -E 'error:|warning:' || true

# Input sizes: whole requests and responses (the Claude Code fixture is
# ~50 KB), shorter streams so each run explores more event sequences.
max_len_for() {
    case "$1" in
        *request*|*response*) echo 65536 ;;
        *stream*) echo 16384 ;;
        *) echo 16384 ;;
    esac
}

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/src/core/fuzz/ubsan.supp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

failed=0
total=0
for t in "${targets[@]}"; do
    work="$(mktemp -d)"
    seeds="$root/src/core/fuzz/corpus/$t"
    artifacts="$build/artifacts/$t"
    mkdir -p "$artifacts"
    corpus_args=("$work")
    [ -d "$seeds" ] && corpus_args+=("$seeds")
    log="$build/$t.log"
    set +e
    "$build/$t" -max_total_time="$secs" -max_len="$(max_len_for "$t")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "${corpus_args[@]}" >"$log" 2>&1
    rc=$?
    set -e
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)"
    total=$((total + secs))
    if [ "$rc" -ne 0 ]; then
        failed=1
        echo "FAIL  $t after ${secs}s: exit $rc, runs=$runs $cov; artifacts in $artifacts, log $log"
        grep -E 'ERROR|SUMMARY|grammar violation|changed the output|runtime error' "$log" | head -5 || true
    else
        echo "ok    $t: ${secs}s, runs=$runs $cov, no crash"
    fi
    rm -rf "$work"
done
echo "fuzzed ${#targets[@]} targets for ${total}s in total"
exit "$failed"
