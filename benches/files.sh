#!/usr/bin/env bash
# Attachments: the chat server's file service (XEP-0363's HTTP side) beside
# python3 -m http.server and nginx, in the same run, rounds interleaved so
# that machine noise hits every server alike. curl is the client every time:
#
#   download:  curl -s -o /dev/null GET-URL         socklab, python3, nginx
#   upload:    curl -s -o /dev/null -T FILE PUT-URL socklab (a fresh slot per
#              run, asked for over the JSON protocol), nginx (dav_methods PUT)
#
# python3's http.server answers GET and HEAD only: it has no upload to time.
# The file is SIZE MiB from /dev/urandom, written once into DIR and read
# once before the rounds (page-cached), so disks are not what is timed. Every
# server keeps running through all rounds; an uploaded file is deleted after
# its run, so dirty pages do not pile up in the page cache (deleted before
# writeback, they are never written).
#
# Also: socklab's peak RSS (VmHWM, reset through /proc/PID/clear_refs before
# each transfer) during every upload and download: the file is streamed, so
# it must stay near the idle server's.
#
# Prints each run, then medians per server, the ratio to the fastest server
# (time / fastest time: 1.00 is the fastest, the target is at most 1.2) and
# the load average before and after.
#
# usage: benches/files.sh [SIZE_MIB (default 1024)] [RUNS (default 5)] [DIR]
#   DIR: where the file, the servers' data and the uploads live (default a
#   new directory in /tmp; /dev/shm puts them all on tmpfs)
#   SOCKLAB=PATH runs that binary instead of building target/release/socklab
#   (a build of an older commit, for a before/after)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-1024}
RUNS=${2:-5}
if [[ -n ${SOCKLAB:-} ]]; then
    BIN=$(realpath "$SOCKLAB")
else
    BIN=$PWD/target/release/socklab
    cargo build --release --quiet
fi
source benches/common.sh
need ss python3 curl nginx

work=$(mktemp -d "${3:-/tmp}/filesbench.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

echo "# attachments over loopback: $SIZE MiB, $RUNS runs per server, $(nproc) cores, $(uname -r)"
echo "# $BIN"
echo "# in $work ($(df --output=fstype "$work" | tail -1)), socklab $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo +changes), $(nginx -v 2>&1), $(curl --version | head -1 | cut -d' ' -f1-2), $(python3 --version)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

data=$work/data.bin
head -c "$((SIZE * 1024 * 1024))" /dev/urandom >"$data"
cat "$data" >/dev/null

# --- socklab chat serve, with a user allowed to store every upload --------
chat_port=$(free_port)
http_port=$(free_port)
mkdir "$work/chat"
printf 'bench password\n' >"$work/pw"
"$BIN" -q chat adduser bench --password-file "$work/pw" --data-dir "$work/chat" >/dev/null
"$BIN" -q chat serve "$chat_port" --http-port "$http_port" --data-dir "$work/chat" \
    --max-file-size 16GiB --quota 64GiB --slot-ttl 1h >"$work/socklab.log" 2>&1 &
socklab_pid=$!
pids+=("$socklab_pid")
wait_listening "$chat_port"
wait_listening "$http_port"

# A slot over the JSON protocol: log in, {"type":"upload"}, print "PUT GET".
slot() {
    python3 - "$chat_port" "$SIZE" <<'PY'
import json, socket, sys
port, size = int(sys.argv[1]), int(sys.argv[2]) * 1024 * 1024
f = socket.create_connection(("127.0.0.1", port), timeout=30).makefile("rw")
def ask(msg, want):
    f.write(json.dumps(msg) + "\n"); f.flush()
    for line in f:
        v = json.loads(line)
        if v.get("type") == want: return v
        if v.get("type") == "error": sys.exit(f"the server refused {msg}: {v}")
    sys.exit(f"the server closed before answering {msg}")
ask({"type": "login", "user": "bench", "password": "bench password"}, "logged_in")
v = ask({"type": "upload", "name": "data.bin", "size": size,
         "content_type": "application/octet-stream"}, "slot")
print(v["put"], v["get"])
PY
}

# curl once; prints milliseconds, fails on any status but the expected one.
timed_curl() {
    local want=$1 out code secs
    shift
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$@")
    read -r code secs <<<"$out"
    if [[ $code != "$want" ]]; then
        echo "curl $* answered $code, not $want" >&2
        exit 1
    fi
    awk -v s="$secs" 'BEGIN {printf "%d\n", s * 1000}'
}

read -r socklab_put socklab_get <<<"$(slot)"
timed_curl 201 -T "$data" "$socklab_put" >/dev/null # the file every GET reads
cat "$work"/chat/files/* >/dev/null

# --- python3 -m http.server, serving the directory that holds the file ---
py_port=$(free_port)
mkdir "$work/py"
ln "$data" "$work/py/data.bin"
python3 -m http.server --bind 127.0.0.1 --directory "$work/py" "$py_port" \
    >"$work/python.log" 2>&1 &
pids+=($!)
wait_listening "$py_port"

# --- nginx, static files and WebDAV PUT, one process, Debian's defaults for
# files (sendfile on, tcp_nopush on) --------------------------------------
nginx_port=$(free_port)
mkdir -p "$work/nginx/root/up" "$work/nginx/tmp"
ln "$data" "$work/nginx/root/data.bin"
nginx -V 2>&1 | grep -q http_dav_module ||
    { echo "this nginx has no http_dav_module: no PUT to compare with" >&2; exit 1; }
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/nginx/root;
        location /up/ {
            dav_methods PUT;
            client_max_body_size 0;
        }
    }
}
EOF
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" </dev/null &
pids+=($!)
wait_listening "$nginx_port"

# socklab's peak RSS in KiB from here on (the kernel's high-water mark).
rss_reset() { echo 5 >"/proc/$socklab_pid/clear_refs"; }
rss_peak() { awk '/^VmHWM/ {print $2}' "/proc/$socklab_pid/status"; }
echo "# socklab RSS with the server idle: $(awk '/^VmRSS/ {print $2}' "/proc/$socklab_pid/status") KiB"

# One transfer by curl, GET or PUT (as $direction says); prints milliseconds.
run_once() {
    case $direction:$1 in
        get:socklab)
            rss_reset
            timed_curl 200 "$socklab_get"
            rss_peak >>"$work/rss.download" ;;
        get:python3) timed_curl 200 "http://127.0.0.1:$py_port/data.bin" ;;
        get:nginx) timed_curl 200 "http://127.0.0.1:$nginx_port/data.bin" ;;
        put:socklab)
            local put
            read -r put _ <<<"$(slot)"
            rss_reset
            timed_curl 201 -T "$data" "$put"
            rss_peak >>"$work/rss.upload"
            rm "$work/chat/files/$(basename "$(dirname "$put")")" ;;
        put:nginx)
            timed_curl 201 -T "$data" "http://127.0.0.1:$nginx_port/up/data.bin"
            rm "$work/nginx/root/up/data.bin" ;;
    esac
}

# ratios MINE OTHER...: MINE's median time over the fastest of the others
# (above 1.0: socklab is slower; the target is at most 1.2), and over each.
ratios() {
    local mine=$1 best=$2 name
    shift
    for name in "$@"; do ((med[$name] < med[$best])) && best=$name; done
    awk -v s="${med[$mine]}" -v b="${med[$best]}" -v f="$best" \
        'BEGIN {printf "ratio socklab/fastest (%s) = %.2f (target <= 1.2)\n", f, s / b}'
    for name in "$@"; do
        awk -v s="${med[$mine]}" -v o="${med[$name]}" -v n="$name" \
            'BEGIN {printf "ratio socklab/%s = %.2f\n", n, s / o}'
    done
    echo
}

echo "## download (GET)"
direction=get
rounds server socklab python3 nginx
ratios socklab python3 nginx
echo "## upload (PUT; python3's http.server has none)"
direction=put
rounds server socklab nginx
ratios socklab nginx
echo "socklab peak RSS during a download: $(median <"$work/rss.download") KiB (median), $(sort -n "$work/rss.download" | tail -1) KiB (max)"
echo "socklab peak RSS during an upload:  $(median <"$work/rss.upload") KiB (median), $(sort -n "$work/rss.upload" | tail -1) KiB (max)"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
