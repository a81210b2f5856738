#!/usr/bin/env bash
# Wire size of real, varied alerts: ET Open 2024 on the corpus captures, sensor -> center on
# loopback (mutual TLS, SQLite), with and without a zstd dictionary.
#
#   bench/wire-size.sh                    every figure below
#   TAPWATCH_SHARED=/path                 the team's data (default ../shared)
#   BENCH_RULES=/path                     rules (default ../shared/corpus/rules/et-open-2024-04)
#   BENCH_NO_BUILD=1                      use the release binaries already built
#   CARGO_TARGET_DIR=/dir                 build into (and run from) that target dir
#   BENCH_BATCH=N                         records per batch (default 1000, the sensor's default)
#   BENCH_DELAY_MS=N                      batch time limit (default 200, the sensor's default)
#   BENCH_LEVEL=N                         zstd level (default 3, the sensor's default)
#   BENCH_DICT_SIZE=BYTES                 dictionary size (default 65536)
#
# The corpus captures are split in two halves by position in the sorted list (even / odd), so
# both halves mix the same sources: the dictionary is trained (`tapwatch export train-dict`)
# on the alerts of the first half only, and every size is measured on the second half's
# alerts, which the dictionary has never seen. Bytes on the wire = protobuf bytes of every
# message the sensor sent (Hello with the dictionary, batches, Health), over the alerts sent;
# TLS and HTTP/2 framing are not counted. The dictionary travels once per sensor and is
# stored by the center: its own bytes are shown apart, and the figure without them is what
# each alert costs over a sensor's life. Against it: the mean size of the same alerts as EVE
# JSON lines.
#
# A replay is fast, so its batches are full (BENCH_BATCH records); a live sensor with sparse
# alerts closes batches on time (max_batch_delay_ms) and compresses fewer alerts together:
# BENCH_BATCH=50 shows that case.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${TAPWATCH_SHARED:-../shared}
rules=${BENCH_RULES:-$shared/corpus/rules/et-open-2024-04}
batch=${BENCH_BATCH:-1000}
delay=${BENCH_DELAY_MS:-200}
level=${BENCH_LEVEL:-3}
dict_size=${BENCH_DICT_SIZE:-65536}
target=${CARGO_TARGET_DIR:-target}
[[ -d "$shared/corpus/pcaps" ]] || { echo "skipped: $shared/corpus/pcaps not found (set TAPWATCH_SHARED)" >&2; exit 2; }
if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    cargo build --release --locked -p tapwatch -p tapwatch-center --bins
fi
sensor=$target/release/tapwatch
center=$target/release/tapwatch-center

work=$(mktemp -d)
# shellcheck source=bench/center-lib.sh
source bench/center-lib.sh
cleanup() {
    stop_center
    rm -rf "$work"
}
trap cleanup EXIT

mapfile -t all < <(find "$shared/corpus/pcaps" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.dmp' \) | LC_ALL=C sort)
train=() measure=()
for i in "${!all[@]}"; do
    if (( i % 2 == 0 )); then train+=("${all[$i]}"); else measure+=("${all[$i]}"); fi
done
echo "captures: ${#all[@]} (${#train[@]} to train the dictionary, ${#measure[@]} to measure)"
echo "rules: $rules; batches of at most $batch records or $delay ms; zstd level $level"

make_pki bench-sensor

echo "== training half: EVE only"
"$sensor" replay --rules "$rules" --progress never --eve "$work/train.json" "${train[@]}" 2>/dev/null || true
"$sensor" export train-dict --eve "$work/train.json" --out "$work/alerts.dict" --size "$dict_size"

run() { # $1: label, $2: extra [export] lines, $3: dictionary bytes sent once (or 0)
    start_center "$work/center-$1.db"
    sensor_config "$work/sensor-$1.toml" "$work/spool-$1" "max_batch_records = $batch
max_batch_delay_ms = $delay
zstd_level = $level
$2"
    "$sensor" replay --config "$work/sensor-$1.toml" --rules "$rules" --progress never \
        --summary-json --export-wait 600 --eve "$work/eve-$1.json" "${measure[@]}" \
        2>"$work/summary-$1.txt" || true
    local stored
    stored=$(alerts_stored)
    stop_center
    python3 - "$work/summary-$1.txt" "$work/eve-$1.json" "$stored" "$1" "$3" <<'PY'
import json, sys
summary, eve, stored, label, dict_bytes = sys.argv[1:]
dict_bytes = int(dict_bytes)
s = json.loads([l for l in open(summary) if l.startswith("{")][-1])
x = s["export"]
n, size, sids = 0, 0, set()
with open(eve, "rb") as f:
    for line in f:
        if b'"event_type":"alert"' in line[:200]:
            n += 1
            size += len(line)
            sids.add(json.loads(line)["alert"]["signature_id"])
print(f"{label}: {n} alerts from {len(sids)} signatures, {stored} stored by the center; "
      f"wire {x['bytes_sent']} bytes = {x['bytes_sent']/max(n,1):.1f} bytes/alert "
      f"in {x['batches_sent']} batches"
      + (f", {(x['bytes_sent'] - dict_bytes)/max(n,1):.1f} without the dictionary sent once ({dict_bytes} bytes)" if dict_bytes else "")
      + f"; EVE JSON {size/max(n,1):.0f} bytes/alert")
PY
}

echo "== measuring half, no dictionary"
run plain "" 0
echo "== measuring half, with the dictionary trained on the other half"
run dict "dictionary_path = \"$work/alerts.dict\"" "$(stat -c %s "$work/alerts.dict")"
