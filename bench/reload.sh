#!/usr/bin/env bash
# Live rule reload under traffic: `tapwatch run` (release build, ET Open 2024, one worker,
# AF_XDP driver mode) on a veth end in a throwaway namespace while tcpreplay sends
# shared-ether-merged.pcap from the other end at a steady rate; the rules are reloaded with
# SIGUSR2 (what `systemctl reload tapwatch` sends) twice: once unchanged (the compiled
# databases come from the cache) and once with one rule added (every database of the changed
# groups compiled again).
#
#   sudo bench/reload.sh
#   sudo BENCH_RATE=50000 BENCH_INPUTS=/dir CARGO_TARGET_DIR=/dir bench/reload.sh
#
# Reported per reload: the resident memory (VmRSS, sampled every 50 ms) in steady state before
# the signal (median), its peak between the signal and 2 s after the swap, and the ratio; the
# time from the signal to the "rules reloaded" log line, and the build and swap times that line
# gives. Over the whole run: packets sent, inspected, and lost (kernel drops + dispatch drops).
#
# Needs root (namespaces, XDP), tcpreplay, and the inputs of ../shared/bench/make-bench-inputs.sh.
# Only the namespaces it creates are touched; they are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${TAPWATCH_SHARED:-../shared}
inputs=${BENCH_INPUTS:-/tmp/tapwatch-bench}
pcap="$inputs/shared-ether-merged.pcap"
rules="$inputs/et-open-2024-04-all.rules"
rate=${BENCH_RATE:-100000}

if [[ ! -f "$pcap" || ! -f "$rules" ]]; then
    bash "$shared/bench/make-bench-inputs.sh" "$inputs" >/dev/null
fi
cargo build --release --locked --bin tapwatch >/dev/null 2>&1 || cargo build --release --locked --bin tapwatch
bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/tapwatch")

replay_pid=""
bench_cleanup() { [[ -n "$replay_pid" ]] && kill "$replay_pid" 2>/dev/null || true; }
source bench/netns-lib.sh
make_netns twreload twra twrb

cp "$rules" "$work/local.rules"
mkdir -p "$work/cache"
cat >"$work/tapwatch.toml" <<EOF
[detect]
rule_files = ["local.rules"]
cache_dir = "$work/cache"
EOF
# Fill the cache, as a sensor that ran these rules before has it.
"$bin" rules check --config "$work/tapwatch.toml" >/dev/null 2>&1 || true

ip netns exec "$ns_a" "$bin" run -i twra --capture xdp-drv --workers 1 \
    --config "$work/tapwatch.toml" --control-socket "$work/ctl.sock" --summary-json --eve /dev/null \
    2>"$work/err" &
pid=$!
for _ in $(seq 600); do
    grep -q "capture started" "$work/err" && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.2
done

# Memory samples: "<seconds since the epoch> <VmRSS kB>", every 50 ms, until the sensor ends.
(
    while kill -0 "$pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        [[ -n "$rss" ]] && echo "$(date +%s.%N) $rss"
        sleep 0.05
    done
) >"$work/rss" &
sampler=$!

# Steady traffic for the whole run: the capture looped for BENCH_SECS seconds.
ip netns exec "$ns_b" tcpreplay -i twrb --pps="$rate" --loop=0 --duration="${BENCH_SECS:-45}" \
    "$pcap" >"$work/replay" 2>&1 &
replay_pid=$!

reload() { # label
    local before lines t0 t1
    sleep 5
    before=$(wc -l <"$work/err")
    t0=$(date +%s.%N)
    kill -USR2 "$pid"
    for _ in $(seq 3000); do
        if tail -n +"$((before + 1))" "$work/err" | grep -q "rules reloaded\|reload refused"; then break; fi
        sleep 0.02
    done
    t1=$(date +%s.%N)
    line=$(tail -n +"$((before + 1))" "$work/err" | grep "rules reloaded\|reload refused" | head -1)
    sleep 2
    python3 - "$work/rss" "$t0" "$t1" "$1" "$line" <<'PY'
import re, statistics, sys
samples = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
t0, t1, label, line = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
steady = statistics.median(r for t, r in samples if t0 - 4 <= t < t0)
peak = max(r for t, r in samples if t0 <= t <= t1 + 2)
after = statistics.median(r for t, r in samples if t1 + 1 <= t <= t1 + 2) if any(t1 + 1 <= t for t, _ in samples) else float("nan")
m = re.search(r"built in ([0-9.]+) s, swapped into every worker in ([0-9.]+) s", line)
build, swap = (m.group(1), m.group(2)) if m else ("?", "?")
print(f"{label}: signal to active {t1 - t0:.2f} s (build {build} s, swap {swap} s); "
      f"RSS steady {steady / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB ({peak / steady:.2f}x), "
      f"after {after / 1024:.0f} MiB")
PY
}

reload "unchanged rules (cache hit)"
echo 'alert http any any -> any any (msg:"tapwatch bench: added by reload"; content:"tapwatch-reload-bench"; sid:9990001; rev:1;)' >>"$work/local.rules"
reload "one rule added (recompiled)"

wait "$replay_pid" 2>/dev/null || true
replay_pid=""
sleep 1
kill -TERM "$pid"; wait "$pid" || true
wait "$sampler" 2>/dev/null || true
sent=$(awk '/Successful packets:/ { print $3 }' "$work/replay")
python3 - "$work/err" "${sent:-0}" <<'PY'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
sent = int(sys.argv[2])
print(f"packets: sent {sent}, inspected {s['packets']}, kernel drops {s['kernel_drops']}, "
      f"dispatch drops {s['dispatch_drops']}, lost {sent - s['packets']}")
PY
