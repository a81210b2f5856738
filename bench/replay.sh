#!/usr/bin/env bash
# Replay benchmark: tapwatch's traffic model (decode, defrag, flows, reassembly, app layer,
# EVE output to /dev/null) on the standard inputs built by ../shared/bench/make-bench-inputs.sh.
#
#   bench/replay.sh [RUNS]            median of RUNS (default 3) on shared-ether-merged.pcap
#   BENCH_INPUTS=/dir bench/replay.sh  reuse inputs built earlier
#
#   CARGO_TARGET_DIR=/dir bench/replay.sh  build into (and run the binary from) that target dir
#   BENCH_EVE=/path bench/replay.sh    write EVE there instead of /dev/null
#   BENCH_NICE=-10 bench/replay.sh     run the replays at that nice level (below 0 needs root)
#
# The machine is shared: when other processes compete for the cores, elapsed time (and so the
# rates) varies between runs while the process CPU time (user + system) stays close; both are
# printed.
#
# Prints one line per run and the median: packets/s, Gbit/s of packet processing (bytes read x 8
# over the engine's own processing time, as Suricata's reference figures), peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shared=${TAPWATCH_SHARED:-../shared}
inputs=${BENCH_INPUTS:-/tmp/tapwatch-bench}
pcap="$inputs/shared-ether-merged.pcap"

if [[ ! -f "$pcap" ]]; then
    [[ -x "$shared/bench/make-bench-inputs.sh" || -f "$shared/bench/make-bench-inputs.sh" ]] || {
        echo "bench: $shared/bench/make-bench-inputs.sh not found (set TAPWATCH_SHARED)" >&2; exit 1; }
    scripts/install-deps.sh --test
    bash "$shared/bench/make-bench-inputs.sh" "$inputs" >/dev/null
fi
cargo build --release --locked --bin tapwatch >/dev/null 2>&1 || cargo build --release --locked --bin tapwatch
bin=${CARGO_TARGET_DIR:-target}/release/tapwatch

results=()
for i in $(seq "$runs"); do
    summary=$(mktemp)
    ${BENCH_NICE:+nice -n "$BENCH_NICE"} /usr/bin/time -f '%M %U %S' -o "$summary.rss" "$bin" replay --progress never --summary-json --eve "${BENCH_EVE:-/dev/null}" "$pcap" 2>"$summary"
    line=$(python3 - "$summary" "$summary.rss" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
rss_kb, user, sys_ = open(sys.argv[2]).read().split()[-3:]
rss_mb = int(rss_kb) / 1024
cpu = float(user) + float(sys_)
print(f"{s['packets_per_sec']:.0f} {s['gbit_per_sec']:.3f} {rss_mb:.1f} {s['packets']} {s['elapsed_secs']:.3f} {cpu:.2f} {s['eve_records']}")
PY
)
    rm -f "$summary" "$summary.rss"
    read -r pps gbps rss pkts secs cpu records <<<"$line"
    echo "run $i: $pkts packets in $secs s (process CPU $cpu s): $pps packets/s, $gbps Gbit/s, peak RSS $rss MB, $records EVE records"
    results+=("$pps $gbps $rss")
done
printf '%s\n' "${results[@]}" | sort -n | awk -v n="$runs" 'NR==int((n+1)/2){printf "median: %d packets/s, %s Gbit/s, peak RSS %s MB\n",$1,$2,$3}'
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
