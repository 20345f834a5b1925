# Shared by the benchmark scripts: ports, waiting for listeners, medians.
# (Sourced, not run.)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_listening() {
    for _ in $(seq 1 2000); do
        ss -Htln "sport = :$1" | grep -q . && return 0
        sleep 0.005
    done
    echo "nothing listened on port $1" >&2
    exit 1
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "this benchmark needs $tool (apt-get install netcat-openbsd socat iproute2 python3)" >&2; exit 1; }
    done
}

# rounds LABEL NAME... : call run_once NAME for every NAME, $RUNS rounds, the
# names interleaved in each round so drift on a noisy machine hits all alike.
# Prints every run, then a table of medians; leaves them in the array `med`.
declare -A med
rounds() {
    local label=$1 round name ms
    shift
    declare -A times
    for round in $(seq 1 "$RUNS"); do
        for name in "$@"; do
            ms=$(run_once "$name")
            times[$name]+="$ms "
            echo "round $round  $name  ${ms} ms"
        done
    done
    echo
    printf '%-8s %10s %10s\n' "$label" median_ms MiB/s
    for name in "$@"; do
        med[$name]=$(tr ' ' '\n' <<<"${times[$name]}" | grep . | median)
        printf '%-8s %10s %10s\n' "$name" "${med[$name]}" "$((SIZE * 1000 / med[$name]))"
    done
    echo
}
