#!/usr/bin/env bash
# Relay overhead: the same bulk transfer over loopback, direct and through a
# forwarder, in the same run, rounds interleaved:
#
#   direct:  dd | socklab connect → socklab listen > /dev/null
#   relay:   dd | socklab connect → socklab relay → socklab listen > /dev/null
#   socat:   dd | socklab connect → socat TCP-LISTEN,fork TCP: → socklab listen > /dev/null
#
# Prints the median per path and the ratios (relay / direct, relay / socat).
#
# usage: benches/relay.sh [SIZE_MIB (default 1024)] [RUNS (default 5)]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
RUNS=${2:-5}
BIN=target/release/socklab
cargo build --release --quiet
source benches/common.sh
need socat ss python3

run_once() {
    local path=$1 sink fwd entry t0 t1
    sink=$(free_port)
    "$BIN" -q listen "$sink" >/dev/null </dev/null &
    local server=$!
    wait_listening "$sink"
    entry=$sink
    case $path in
        relay)
            entry=$(free_port)
            "$BIN" -q relay "$entry" "127.0.0.1:$sink" </dev/null &
            fwd=$! ;;
        socat)
            entry=$(free_port)
            socat "TCP-LISTEN:$entry,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$sink" </dev/null &
            fwd=$! ;;
    esac
    wait_listening "$entry"
    t0=$(date +%s%N)
    dd if=/dev/zero bs=1M count="$SIZE" status=none | "$BIN" -q connect 127.0.0.1 "$entry"
    wait "$server"
    t1=$(date +%s%N)
    if [ "$path" != direct ]; then kill "$fwd" 2>/dev/null; wait "$fwd" 2>/dev/null || true; fi
    echo $(((t1 - t0) / 1000000))
}

echo "# relay overhead over loopback: $SIZE MiB, $RUNS runs per path, $(nproc) cores, $(uname -r)"
rounds path direct relay socat
awk -v r="${med[relay]}" -v d="${med[direct]}" -v s="${med[socat]}" \
    'BEGIN {printf "ratio relay/direct = %.2f\nratio relay/socat  = %.2f\n", r/d, r/s}'
