#!/usr/bin/env bash
# Runs the decoder fuzz target for a bounded time per codec family and
# prints a summary. Needs cargo-fuzz (`cargo install cargo-fuzz`); it uses
# nightly flags, which RUSTC_BOOTSTRAP enables on a stable toolchain.
#
# usage: fuzz/run.sh [SECONDS (default 60)]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_RUN=${1:-60}
mkdir -p corpus/decode
# Seeds: one well-formed stream per codec (first byte = codec, second = piece size).
printf '\x00\x03hello\r\nworld\n' > corpus/decode/lines
printf '\x01\x05POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' > corpus/decode/http
printf '\x81\x07HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' > corpus/decode/http-chunked
printf "\x02\x02<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message from='a' to='b'><body>hi &amp; bye</body></message>" > corpus/decode/xml
printf '\x03\x04{"from":"Vincent","to":"Eli","body":"hi"}\n' > corpus/decode/json
printf '\x04\x01\x00\x00\x00\x07{"a":1}' > corpus/decode/json-length
RUSTC_BOOTSTRAP=1 cargo fuzz run decode corpus/decode -- -max_total_time="$SECONDS_PER_RUN" -print_final_stats=1 2>&1 | tee /tmp/socklab-fuzz.log | grep -E "^(#[0-9]+ +DONE|stat::|Done|==|SUMMARY)" || true
grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" /tmp/socklab-fuzz.log || true
if grep -q "SUMMARY\|panicked" /tmp/socklab-fuzz.log; then
    echo "FUZZING FOUND A CRASH: see /tmp/socklab-fuzz.log and fuzz/artifacts/" >&2
    exit 1
fi
echo "no crash in ${SECONDS_PER_RUN}s"
