#!/usr/bin/env bash
# The chat server under load: `socklab chat serve` beside Prosody 0.12 on the
# same machine, in the same run, rounds interleaved so that machine noise hits
# both alike. The load generator is benches/chatload/ (Rust, one mio thread):
# SESSIONS XMPP sessions log in (SASL PLAIN, restart, bind, presence), pairs
# exchange messages at 4,000/s (latency), then flat out (throughput).
#
# Measured per server (the generator reads /proc/PID of the server):
#   RSS per logged-in session at 1,000 and at SESSIONS sessions, logins per
#   second, CPU while every session is idle, delivery latency p50/p99 at a
#   fixed rate, messages routed per second flat out, and the generator's own
#   CPU beside the server's.
#
# Servers (SERVERS="..." to choose; default "socklab prosody prosody-gen
# socklab-scram", about 12 minutes at 10,000 sessions and 3 rounds here):
#   socklab        socklab chat serve --sasl PLAIN (PBKDF2 per login, on 2
#                  worker threads)
#   prosody        Prosody 0.12, epoll, authentication = "internal_plain"
#                  (plain-text passwords, so PLAIN costs Lua no PBKDF2)
#   prosody-gen    the same with Lua's generational GC
#   prosody-nodelay  the same with TCP_NODELAY (network_settings.nagle = false)
#   socklab-scram  socklab with SCRAM-SHA-1, logins and memory only (the
#                  server keeps StoredKey: no PBKDF2 per login)
#
# Prints each run's numbers, then medians per server and the ratios
# socklab / prosody (the "/prosody..." columns). Other users of the machine
# add noise: read the ratios, the per-CPU-second rows and the "waiting for a
# core" rows (how long a server was starved) before the absolute rates.
#
# CHATLOAD_ARGS="..." adds arguments to every generator run (chatload run
# --help lists them), e.g. "--rate-secs 3 --saturate-secs 3" for a quick look.
#
# usage: benches/chat.sh [SESSIONS (default 10000)] [RUNS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS=${1:-10000}
RUNS=${2:-3}
SERVERS=${SERVERS:-socklab prosody prosody-gen socklab-scram}
BIN=target/release/socklab
source benches/common.sh
need ss python3 prosody
cargo build --release --quiet
GEN=$(cargo bench --no-run --bench chatload --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable") and m["target"]["name"] == "chatload": print(m["executable"])')

# Each side holds one descriptor per session (the servers and the generator
# are separate processes): raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < SESSIONS + 100)); then
    echo "$SESSIONS sessions need $((SESSIONS + 100)) descriptors per process; the limit here is $(ulimit -n)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/chatbench.XXXXXX)
server=
cleanup() {
    if [[ -n $server ]]; then stop "$server"; fi
    if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

"$GEN" accounts socklab --data-dir "$work/socklab" --users "$SESSIONS"
"$GEN" accounts prosody --data-dir "$work/prosody" --users "$SESSIONS"
mkdir -p "$work/certs"

# Prosody's configuration: loopback only, no TLS, plain-text passwords, the
# modules a client needs (c2s, presence, message, iq, offline load anyway),
# no s2s (it would listen on every interface), no rate limits (mod_limits
# is not loaded), the listen backlog socklab uses (1024, not 128).
prosody_config() {
    local port=$1 gc=$2 nagle=$3
    cat <<EOF
run_as_root = true
pidfile = "$work/prosody.pid"
data_path = "$work/prosody"
certificates = "$work/certs"
interfaces = { "127.0.0.1" }
c2s_ports = { $port }
network_backend = "epoll"
network_settings = { tcp_backlog = 1024, nagle = $nagle }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
log = { warn = "$work/prosody.log" }
modules_enabled = { "roster", "saslauth", "disco", "ping" }
modules_disabled = { "s2s", "s2s_auth_certs" }
gc = { mode = "$gc" }
VirtualHost "localhost"
EOF
}

# One generator run against a fresh server; its KEY VALUE lines go to $2.
run_once() {
    local name=$1 out=$2 port sasl=plain extra=()
    port=$(free_port)
    case $name in
        socklab | socklab-scram)
            local mech=PLAIN
            if [[ $name == socklab-scram ]]; then
                mech=SCRAM-SHA-1 sasl=scram-sha1 extra=(--rate 0 --saturate-secs 0)
            fi
            "$BIN" -q chat serve "127.0.0.1:$port" --sasl "$mech" --data-dir "$work/socklab" \
                >>"$work/socklab.log" 2>&1 &
            ;;
        prosody | prosody-gen | prosody-nodelay)
            local gc=incremental nagle=true
            [[ $name == prosody-gen ]] && gc=generational
            [[ $name == prosody-nodelay ]] && nagle=false
            prosody_config "$port" "$gc" "$nagle" >"$work/prosody.cfg.lua"
            prosody --config "$work/prosody.cfg.lua" -F >>"$work/prosody.out" 2>&1 &
            ;;
        *) echo "unknown server $name" >&2; exit 1 ;;
    esac
    server=$!
    wait_listening "$port"
    if ! "$GEN" run --port "$port" --pid "$server" --sessions "$SESSIONS" --sasl "$sasl" ${CHATLOAD_ARGS:-} "${extra[@]}" >"$out"; then
        echo "the generator failed against $name; server logs in $work (KEEP=1 keeps them)" >&2
        exit 1
    fi
    stop "$server"
    server=
}

# SIGTERM, then SIGKILL if it is still there after 10 s: Prosody 0.12.3's
# shutdown can fail with sessions open (mod_c2s.lua:469, "attempt to call a
# nil value (method 'close')") and then never exits.
stop() {
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        # Gone, or a zombie waiting for `wait` (kill -0 still succeeds on those).
        [[ $(ps -o stat= -p "$1" 2>/dev/null) == @(|Z*) ]] && break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

echo "# chat load: $SESSIONS sessions, $RUNS rounds, $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# socklab $(git rev-parse --short HEAD), Prosody $(dpkg-query -W -f '${Version}' prosody 2>/dev/null || echo '?')"
for round in $(seq 1 "$RUNS"); do
    for name in $SERVERS; do
        run_once "$name" "$work/run.$name.$round"
        echo "round $round  $name  $(tr '\n' ' ' <"$work/run.$name.$round")"
    done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work" "$SESSIONS" $SERVERS <<'PY'
import glob, statistics, sys
work, n, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
runs = {}
for s in servers:
    runs[s] = []
    for f in sorted(glob.glob(f"{work}/run.{s}.*")):
        r = {k: float(v) for k, v in (l.split() for l in open(f) if l.strip())}
        # Per CPU-second of the server: what it would route with a core to
        # itself, the figure the other users of the machine disturb least.
        if r.get("sat_server_cpu_pct"):
            r["sat_msgs_per_cpu_s"] = r["sat_msgs_per_s"] / (r["sat_server_cpu_pct"] / 100)
        if r.get("rate_delivered_per_s"):
            r["rate_cpu_us_per_msg"] = r["rate_server_cpu_pct"] / 100 / r["rate_delivered_per_s"] * 1e6
        runs[s].append(r)
def med(s, key, scale=1.0):
    vals = [r[key] for r in runs[s] if key in r]
    return statistics.median(vals) * scale if vals else None
rate = med(servers[0], "rate_target") or 0
rows = [
    ("RSS, no session (MiB)", "rss_kib_before", 1 / 1024),
    ("RSS at 1,000 sessions (MiB)", "rss_kib_at_1000", 1 / 1024),
    ("  per session (KiB)", "rss_kib_per_session_at_1000", 1),
    (f"RSS at {n:,} sessions (MiB)", f"rss_kib_at_{n}", 1 / 1024),
    ("  per session (KiB)", f"rss_kib_per_session_at_{n}", 1),
    ("logins/s", "logins_per_s", 1),
    ("idle CPU (% of a core)", "idle_cpu_pct", 1),
    (f"latency p50 at {rate:,.0f} msg/s (ms)", "rate_p50_ms", 1),
    (f"latency p99 at {rate:,.0f} msg/s (ms)", "rate_p99_ms", 1),
    (f"  delivered per second", "rate_delivered_per_s", 1),
    (f"  server CPU at {rate:,.0f} msg/s (%)", "rate_server_cpu_pct", 1),
    ("  server waiting for a core (%)", "rate_server_wait_pct", 1),
    ("  server CPU per delivered message (us)", "rate_cpu_us_per_msg", 1),
    ("  generator CPU (%)", "rate_gen_cpu_pct", 1),
    ("routed msg/s, flat out", "sat_msgs_per_s", 1),
    ("  per server CPU-second", "sat_msgs_per_cpu_s", 1),
    ("  server CPU flat out (%)", "sat_server_cpu_pct", 1),
    ("  server waiting for a core (%)", "sat_server_wait_pct", 1),
    ("  generator CPU flat out (%)", "sat_gen_cpu_pct", 1),
    ("  generator waiting for a core (%)", "sat_gen_wait_pct", 1),
    ("latency p50 flat out (ms)", "sat_p50_ms", 1),
    ("latency p99 flat out (ms)", "sat_p99_ms", 1),
    ("messages lost (4,000/s + flat out)", None, 1),
    ("RSS after the traffic (MiB)", "rss_kib_after_traffic", 1 / 1024),
]
prosodies = [s for s in servers if s.startswith("prosody")]
print()
width = {s: max(len(s) + 2, 12) for s in servers + [f"/{p}" for p in prosodies]}
print(f"{'median of ' + str(len(runs[servers[0]])) + ' runs':38}" + "".join(f"{s:>{width[s]}}" for s in servers)
      + "".join(f"{'/' + p:>{width['/' + p]}}" for p in prosodies if "socklab" in servers))
for label, key, scale in rows:
    vals = []
    for s in servers:
        if key is None:
            lost = [r.get("rate_lost", 0) + r.get("sat_lost", 0) for r in runs[s]]
            vals.append(max(lost) if lost and "sat_lost" in runs[s][0] else None)
        else:
            vals.append(med(s, key, scale))
    line = f"{label:38}" + "".join(f"{v:>{width[s]},.2f}" if v is not None else f"{'-':>{width[s]}}" for s, v in zip(servers, vals))
    if "socklab" in servers:
        mine = vals[servers.index("socklab")]
        for p in prosodies:
            other = vals[servers.index(p)]
            ratio = f"{mine / other:.3g}" if mine is not None and other else "-"
            line += f"{ratio:>{width['/' + p]}}"
    print(line)
if "socklab" in servers:
    print()
    rss = med("socklab", f"rss_kib_at_{n}", 1 / 1024)
    p99 = med("socklab", "rate_p99_ms")
    idle = med("socklab", "idle_cpu_pct")
    print(f"target: {n:,} sessions under 64 MiB RSS: {rss:.1f} MiB")
    for p in prosodies:
        mine, other = med("socklab", "sat_msgs_per_s"), med(p, "sat_msgs_per_s")
        if mine and other:
            print(f"target: at least 5x {p}'s routed messages/s: {mine / other:.2f}x")
    if p99 is not None:
        print(f"target: p99 under 50 ms at {n:,} sessions: {p99:.2f} ms")
    print(f"target: 0 % CPU idle: {idle:.2f} %")
PY
