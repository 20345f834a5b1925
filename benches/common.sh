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
