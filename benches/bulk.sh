#!/usr/bin/env bash
# Bulk TCP transfer over loopback: socklab beside OpenBSD nc and socat, in the
# same run, rounds interleaved so that machine noise hits every tool alike.
#
#   dd if=/dev/zero bs=1M count=SIZE | X connect  →  X listen > /dev/null
#
# Prints each run, then the median per tool and the ratio of medians
# (socklab time / other time: below 1.0 means socklab is faster).
#
# usage: benches/bulk.sh [SIZE_MIB (default 2048)] [RUNS (default 7)]
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-2048}
RUNS=${2:-7}
BIN=target/release/socklab
cargo build --release --quiet
source benches/common.sh
need nc socat ss python3

# One transfer; prints milliseconds from the first byte offered to both ends gone.
run_once() {
    local tool=$1 port server client t0 t1
    port=$(free_port)
    case $tool in
        socklab)
            "$BIN" -q listen "$port" >/dev/null </dev/null &
            client=("$BIN" -q connect 127.0.0.1 "$port") ;;
        nc)
            nc -l 127.0.0.1 "$port" >/dev/null </dev/null &
            client=(nc -N 127.0.0.1 "$port") ;;
        socat)
            socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" - >/dev/null &
            client=(socat -u - "TCP:127.0.0.1:$port") ;;
    esac
    server=$!
    wait_listening "$port"
    t0=$(date +%s%N)
    dd if=/dev/zero bs=1M count="$SIZE" status=none | "${client[@]}"
    wait "$server"
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

echo "# bulk TCP over loopback: $SIZE MiB, $RUNS runs per tool, $(nproc) cores, $(uname -r)"
rounds tool socklab nc socat
awk -v s="${med[socklab]}" -v n="${med[nc]}" -v c="${med[socat]}" \
    'BEGIN {printf "ratio socklab/nc    = %.2f\nratio socklab/socat = %.2f\n", s/n, s/c}'
