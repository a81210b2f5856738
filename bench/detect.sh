#!/usr/bin/env bash
# Detection benchmark: `tapwatch replay` with all of ET Open 2024-04 (et-open-2024-04-all.rules)
# on shared-ether-merged.pcap, one worker, EVE to a temporary file (alerts are counted from
# it); the inputs come from
# ../shared/bench/make-bench-inputs.sh. Compare with Suricata 8.0.6's figures in
# ../shared/bench/README.md (1.39 Gbit/s, 604 kpps, start-up 8.8 s cold / 4.9 s warm, 309 MB).
#
#   bench/detect.sh [RUNS]               median of RUNS (default 3) of each kind of run
#   BENCH_INPUTS=/dir bench/detect.sh    reuse inputs built earlier (default /tmp/tapwatch-bench)
#   BENCH_RULES=/path/x.rules            other rules (default: $BENCH_INPUTS/et-open-2024-04-all.rules)
#   BENCH_PCAP=/path/x.pcap              other capture
#   BENCH_EVE=/path bench/detect.sh      keep the EVE output of the last warm run there
#   CARGO_TARGET_DIR=/dir                build into (and run the binary from) that target dir
#
# Kinds of run:
#   none     once: the same replay without rules (the sensor's own cost, for reference)
#   cold     RUNS times, --no-cache: every Hyperscan database compiled at start-up
#   warm     RUNS times, with a cache directory filled beforehand: databases loaded, not compiled
#   (cold and warm runs alternate)
# Start-up is "rules read to engine built" (the summary's detect.startup_secs).
# Each line: packet-processing Gbit/s and kpps after start-up (bytes read x 8 over the replay's
# own processing time, start-up excluded, as Suricata's reference figures), the same per CPU
# second of processing (cpu_gbit/s: steadier when other processes compete), start-up seconds,
# peak RSS (/usr/bin/time -v), user+system CPU seconds, alerts and signatures that alerted.
# The machine may be shared: elapsed time varies with competing load, CPU time much less.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shared=${TAPWATCH_SHARED:-../shared}
inputs=${BENCH_INPUTS:-/tmp/tapwatch-bench}
pcap=${BENCH_PCAP:-$inputs/shared-ether-merged.pcap}
rules=${BENCH_RULES:-$inputs/et-open-2024-04-all.rules}

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

# run KIND EXTRA-ARGS...: one replay; prints the result line and appends it to $work/KIND.
run() {
    local kind=$1; shift
    local eve="$work/eve.json"
    TAPWATCH_CACHE_DIR="$cache" /usr/bin/time -v -o "$work/time" \
        "$bin" replay --progress never --summary-json --eve "$eve" "$@" "$pcap" \
        2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
    python3 - "$work/stderr" "$work/time" "$eve" "$kind" <<'PY' | tee -a "$work/$kind"
import json, re, sys
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
t = open(sys.argv[2]).read()
rss_kb = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', t).group(1))
cpu = float(re.search(r'User time \(seconds\): ([\d.]+)', t).group(1)) + \
      float(re.search(r'System time \(seconds\): ([\d.]+)', t).group(1))
d = summary.get('detect') or {}
sids = set()
alerts = 0
for line in open(sys.argv[3]):
    if '"event_type":"alert"' in line:
        alerts += 1
        sids.add(json.loads(line)['alert']['signature_id'])
cpu_p = (summary.get('cpu_secs') or {}).get('processing') or 0.0
cpu_s0 = (summary.get('cpu_secs') or {}).get('startup') or 0.0
cpu_gbit = summary['bytes'] * 8 / cpu_p / 1e9 if cpu_p > 0 else 0.0
cpu_kpps = summary['packets'] / cpu_p / 1e3 if cpu_p > 0 else 0.0
print(f"{sys.argv[4]:<5} gbit/s {summary['gbit_per_sec']:.3f} kpps {summary['packets_per_sec']/1e3:.0f} "
      f"cpu_gbit/s {cpu_gbit:.3f} cpu_kpps {cpu_kpps:.0f} startup_cpu_s {cpu_s0:.3f} "
      f"startup_s {d.get('startup_secs', 0):.3f} (load {d.get('load_secs', 0):.3f}, build {d.get('compile_secs', 0):.3f}, cache {d.get('cache')}) "
      f"rss_mb {rss_kb/1024:.0f} cpu_s {cpu:.2f} processing_s {summary['elapsed_secs']:.3f} "
      f"rules {d.get('loaded')} rejected {d.get('rejected')} alerts {alerts} signatures {len(sids)}")
PY
    if [[ $kind == warm && -n ${BENCH_EVE:-} ]]; then cp "$eve" "$BENCH_EVE"; fi
}

run none  # baseline: the same replay without rules
rm -rf "$cache"
TAPWATCH_CACHE_DIR="$cache" "$bin" rules stats "$rules" >/dev/null  # fills the cache
# Cold and warm runs alternate, so that the machine's drift (up to 20 % within an hour on
# the shared 2-core machine) weighs on both kinds alike. --no-cache neither reads nor
# writes the cache.
for i in $(seq "$runs"); do
    run cold --no-cache --rules "$rules"
    run warm --rules "$rules"
done

median() {  # median FILE FIELD-NAME
    python3 - "$1" "$2" <<'PY'
import sys, statistics
vals = []
for line in open(sys.argv[1]):
    f = line.split()
    vals.append(float(f[f.index(sys.argv[2]) + 1]))
print(f"{statistics.median(vals):.3f}")
PY
}
echo
for kind in cold warm; do
    echo "median $kind: gbit/s $(median "$work/$kind" gbit/s) kpps $(median "$work/$kind" kpps) cpu_gbit/s $(median "$work/$kind" cpu_gbit/s) cpu_kpps $(median "$work/$kind" cpu_kpps) startup_s $(median "$work/$kind" startup_s) startup_cpu_s $(median "$work/$kind" startup_cpu_s) rss_mb $(median "$work/$kind" rss_mb) cpu_s $(median "$work/$kind" cpu_s)"
done
echo "Suricata 8.0.6 (shared/bench/README.md): 1.39 gbit/s 604 kpps, start-up 8.84 s cold / 4.87 s warm, 309 MB (cold) / 266 MB (warm), 1,960 alerts from 148 signatures"
