#!/usr/bin/env bash
# Replay scaling: `tapwatch replay --workers N` with all of ET Open 2024-04 on
# shared-ether-merged.pcap (inputs from ../shared/bench/make-bench-inputs.sh), N = 1 and 2,
# warm rule cache, EVE to a temporary file. The figure is packet-processing throughput:
# bytes read x 8 over the replay's processing time (start-up excluded), which includes the
# reader thread, the dispatcher (decode for the flow hash, copy into per-worker batches),
# the workers and the EVE thread. Compare with Suricata 8.0.6 (../shared/bench/README.md):
# one thread 1.39 Gbit/s, "1 reader + 2 workers" (autofp) 1.02 Gbit/s, 0.73x.
#
#   bench/workers.sh [RUNS]              median of RUNS (default 5) per worker count
#   BENCH_INPUTS=/dir bench/workers.sh   reuse inputs built earlier (default /tmp/tapwatch-bench)
#   WORKERS="1 2 4" bench/workers.sh     other worker counts
#   CARGO_TARGET_DIR=/dir                build into (and run the binary from) that target dir
#
# Runs of the worker counts alternate, so the machine's drift weighs on all alike.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shared=${TAPWATCH_SHARED:-../shared}
inputs=${BENCH_INPUTS:-/tmp/tapwatch-bench}
pcap=${BENCH_PCAP:-$inputs/shared-ether-merged.pcap}
rules=${BENCH_RULES:-$inputs/et-open-2024-04-all.rules}
counts=${WORKERS:-1 2}

if [[ ! -f "$pcap" || ! -f "$rules" ]]; then
    [[ -f "$shared/bench/make-bench-inputs.sh" ]] || {
        echo "bench: $shared/bench/make-bench-inputs.sh not found (set TAPWATCH_SHARED)" >&2; exit 1; }
    bash "$shared/bench/make-bench-inputs.sh" "$inputs" >/dev/null
fi
cargo build --release --locked --bin tapwatch >/dev/null 2>&1 || cargo build --release --locked --bin tapwatch
bin=${CARGO_TARGET_DIR:-target}/release/tapwatch

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache="$work/cache"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rules: $rules"
echo "pcap:  $pcap"
TAPWATCH_CACHE_DIR="$cache" "$bin" rules stats "$rules" >/dev/null  # fills the cache

run() {  # run N
    local n=$1
    TAPWATCH_CACHE_DIR="$cache" "$bin" replay --progress never --summary-json --workers "$n" \
        --rules "$rules" --eve "$work/eve.json" "$pcap" 2>"$work/stderr" \
        || { cat "$work/stderr" >&2; exit 1; }
    python3 - "$work/stderr" "$work/eve.json" "$n" <<'PY' | tee -a "$work/w$n"
import json, sys
summary = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith('{'):
        try:
            summary = json.loads(line)
        except ValueError:
            pass
if summary is None:
    sys.exit("no summary JSON on stderr")
alerts = sum(1 for l in open(sys.argv[2]) if '"event_type":"alert"' in l)
shares = [w['packets'] for w in summary.get('workers', [])]
cpu_p = (summary.get('cpu_secs') or {}).get('processing') or 0.0
print(f"workers {sys.argv[3]} gbit/s {summary['gbit_per_sec']:.3f} kpps {summary['packets_per_sec']/1e3:.0f} "
      f"processing_s {summary['elapsed_secs']:.3f} cpu_s {cpu_p:.2f} alerts {alerts} shares {shares}")
PY
}

for i in $(seq "$runs"); do
    for n in $counts; do run "$n"; done
done
echo
first=""
for n in $counts; do
    m=$(python3 - "$work/w$n" <<'PY'
import sys, statistics
vals = [float(l.split()[l.split().index('gbit/s') + 1]) for l in open(sys.argv[1])]
print(f"{statistics.median(vals):.3f}")
PY
)
    [[ -z $first ]] && first=$m
    echo "median workers $n: gbit/s $m ($(python3 -c "print(f'{$m / $first:.2f}')")x one worker)"
done
echo "Suricata 8.0.6 (shared/bench/README.md): one thread 1.39 gbit/s; 1 reader + 2 workers 1.02 gbit/s (0.73x)"
