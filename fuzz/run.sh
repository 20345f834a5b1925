#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, each started from its seeds
# (seeds/TARGET: real traffic, see seeds/README.md), and prints one line per
# target with the numbers that go into docs/FUZZING.md. A crash, a panic or
# an input slower than 10 s (-timeout) fails the run. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); it uses nightly flags, which RUSTC_BOOTSTRAP
# enables on a stable toolchain.
#
# usage: fuzz/run.sh [SECONDS per target, default 60] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(lines raw http_request http_response xml json_newline json_length telnet)
fi
cargo fuzz build
mkdir -p logs
failed=0
printf '%-14s %8s %12s %8s %9s %7s  %s\n' target seconds executions exec/s corpus rss_mb result
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log="logs/$t.log"
    # New inputs go to corpus/TARGET; the seeds are read, never written.
    if cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$seconds" \
        -max_len=12288 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        result="no crash"
    else
        result="CRASH: see fuzz/$log and fuzz/artifacts/$t/"
        failed=1
    fi
    stat() { grep -o "stat::$1: *[0-9]*" "$log" | awk '{print $2}' | tail -1; }
    printf '%-14s %8s %12s %8s %9s %7s  %s\n' "$t" "$seconds" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "$(ls "corpus/$t" | wc -l)" "$(stat peak_rss_mb)" "$result"
done
exit $failed
