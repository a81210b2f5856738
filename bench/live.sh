#!/usr/bin/env bash
# Live-capture benchmark: `tapwatch run` (release build, ET Open 2024, one worker) on a veth end
# in a throwaway namespace while tcpreplay sends shared-ether-merged.pcap from the other end at
# increasing rates, for AF_XDP driver mode, AF_XDP generic (SKB) mode and the AF_PACKET socket.
#
#   sudo bench/live.sh                       rates 50k 100k 200k 300k 500k pps and top speed
#   sudo BENCH_RATES="100000 250000" bench/live.sh
#   BENCH_MODES="xdp-drv socket" BENCH_INPUTS=/dir CARGO_TARGET_DIR=/dir bench/live.sh
#
# Per mode and rate: packets sent (tcpreplay), received by the capture, inspected by the
# worker, lost (sent - inspected: kernel drops + dispatch drops), and the receiver's CPU
# seconds per million packets (utime + stime from /proc/<pid>/stat between the first and the
# last packet, start-up excluded). Per mode: the highest offered rate with zero loss, and the
# receiver's CPU use over 3 s of idleness (spinning shows as ~1 CPU-s/s).
#
# Needs root (namespaces, XDP), tcpreplay, and the inputs of ../shared/bench/make-bench-inputs.sh.
# Only the namespaces it creates are touched; they are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${TAPWATCH_SHARED:-../shared}
inputs=${BENCH_INPUTS:-/tmp/tapwatch-bench}
pcap="$inputs/shared-ether-merged.pcap"
rules="$inputs/et-open-2024-04-all.rules"
rates=${BENCH_RATES:-"50000 100000 200000 300000 500000 top"}
modes=${BENCH_MODES:-"xdp-drv xdp-skb socket"}

if [[ ! -f "$pcap" || ! -f "$rules" ]]; then
    bash "$shared/bench/make-bench-inputs.sh" "$inputs" >/dev/null
fi
cargo build --release --locked --bin tapwatch >/dev/null 2>&1 || cargo build --release --locked --bin tapwatch
bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/tapwatch")
export TAPWATCH_CACHE_DIR=${TAPWATCH_CACHE_DIR:-/tmp/tapwatch-bench-cache}
mkdir -p "$TAPWATCH_CACHE_DIR"

source bench/netns-lib.sh
make_netns twbench twba twbb

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start_sensor() { # mode -> sets pid
    : >"$work/err"
    ip netns exec "$ns_a" "$bin" run -i twba --capture "$1" --workers 1 --rules "$rules" \
        --summary-json --eve /dev/null --control-socket "$work/ctl.sock" 2>"$work/err" &
    pid=$!
    for _ in $(seq 600); do
        grep -q "capture started" "$work/err" && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; return 1; }
        sleep 0.2
    done
    echo "bench: tapwatch did not start" >&2; return 1
}

stop_sensor() {
    kill -TERM "$pid"; wait "$pid" || true
}

printf '%-8s %-8s %10s %10s %10s %10s %12s\n' mode rate sent received inspected lost cpu_s_per_M
for mode in $modes; do
    best=none
    start_sensor "$mode"
    t0=$(cpu_ticks "$pid"); sleep 3; t1=$(cpu_ticks "$pid")
    idle=$(python3 -c "print(f'{($t1 - $t0) / 100 / 3:.3f}')")
    stop_sensor
    for rate in $rates; do
        start_sensor "$mode"
        c0=$(cpu_ticks "$pid")
        if [[ $rate == top ]]; then speed=--topspeed; else speed=--pps=$rate; fi
        sent=$(ip netns exec "$ns_b" tcpreplay -i twbb $speed "$pcap" 2>&1 |
            awk '/Successful packets:/ { print $3 }')
        sleep 1
        c1=$(cpu_ticks "$pid")
        stop_sensor
        read -r received inspected < <(python3 - "$work/err" <<'PY'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
print(sum(q["packets"] for q in s["capture"]["queues"]), s["packets"])
PY
)
        lost=$((sent - inspected))
        cpm=$(python3 -c "print(f'{($c1 - $c0) / 100 / max($inspected, 1) * 1e6:.3f}')")
        printf '%-8s %-8s %10s %10s %10s %10s %12s\n' "$mode" "$rate" "$sent" "$received" "$inspected" "$lost" "$cpm"
        if [[ $lost -eq 0 ]]; then best=$rate; fi
    done
    echo "$mode: highest lossless offered rate: $best pps; idle CPU: $idle CPU-s/s"
done
