#!/usr/bin/env bash
# Runs the codec benchmark (benches/codecs.rs) several times and prints, per
# codec, the median time of socklab's decoder and of the raw parser beside
# it, and the median of the per-run ratios. One criterion run is not enough
# on a noisy machine.
#
# usage: benches/codecs.sh [RUNS (default 5)]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
out=$(mktemp)
for i in $(seq 1 "$RUNS"); do
    cargo bench --quiet --bench codecs -- --output-format bencher 2>/dev/null | grep '^test' | sed "s/^/run$i /" >> "$out"
done
python3 - "$out" "$RUNS" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r'(run\d+) test (\S+)/(\S+) \.\.\. bench:\s+([\d,]+) ns/iter', line)
    if m:
        runs.setdefault(m.group(2), {}).setdefault(m.group(1), {})[m.group(3)] = int(m.group(4).replace(',', ''))
print(f"# codec decode throughput, {sys.argv[2]} runs; 10,000 small messages fed in 64 KiB reads")
print(f"{'codec':14} {'socklab':>11} {'raw':>11} {'ratio':>6}")
for codec, per_run in runs.items():
    s = statistics.median(r['socklab'] for r in per_run.values()) / 1e6
    r = statistics.median(r['raw'] for r in per_run.values()) / 1e6
    ratio = statistics.median(r['socklab'] / r['raw'] for r in per_run.values())
    print(f"{codec:14} {s:8.3f} ms {r:8.3f} ms {ratio:6.2f}")
PY
rm -f "$out"
