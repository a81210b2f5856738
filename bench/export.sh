#!/usr/bin/env bash
# Export benchmark: sensor -> center on loopback, mutual TLS, SQLite, the real binaries.
#
#   bench/export.sh                       every figure below
#   BENCH_INPUTS=/dir                     inputs built by ../shared/bench/make-bench-inputs.sh
#                                         (default /tmp/tapwatch-bench; not regenerated here)
#   BENCH_PCAP=/path/x.pcap               other capture (default shared-ether-merged.pcap)
#   BENCH_NO_BUILD=1                      use the release binaries already built
#   CARGO_TARGET_DIR=/dir                 build into (and run from) that target dir
#   BENCH_SENSOR=/path BENCH_CENTER=/path other binaries (e.g. a baseline to compare with)
#   BENCH_ONLY=plain                      only the end-to-end run without a dictionary
#
# 1. End to end: `tapwatch replay --export` with a rule firing on every packet
#    (616k alerts on shared-ether-merged.pcap); alerts/s = alerts stored by the center over
#    the wall time from the sensor's start until it exits, which is when the center has
#    acknowledged the last batch (durably committed, SQLite synchronous=full).
# 2. Bytes per alert on the wire (protobuf messages sent, batches + Hello + Health, over the
#    alerts) without and with a zstd dictionary trained on the same run's EVE output, against
#    the mean size of the same alerts as EVE JSON lines.
# 3. Center ingest alone (`center/examples/ingest.rs`, one writer, durable commits of 1000
#    alerts): SQLite, and PostgreSQL when /usr/lib/postgresql/15/bin is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=${BENCH_INPUTS:-/tmp/tapwatch-bench}
pcap=${BENCH_PCAP:-$inputs/shared-ether-merged.pcap}
target=${CARGO_TARGET_DIR:-target}
[[ -f "$pcap" ]] || { echo "missing $pcap: run ../shared/bench/make-bench-inputs.sh" >&2; exit 2; }
if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    cargo build --release -p tapwatch -p tapwatch-center --bins --example ingest
fi
sensor=${BENCH_SENSOR:-$target/release/tapwatch}
center=${BENCH_CENTER:-$target/release/tapwatch-center}
ingest="$target/release/examples/ingest"

work=$(mktemp -d)
pg_ctl_stop=""
# shellcheck source=bench/center-lib.sh
source bench/center-lib.sh
cleanup() {
    stop_center
    [[ -n "$pg_ctl_stop" ]] && eval "$pg_ctl_stop" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

make_pki bench-sensor
echo 'alert ip any any -> any any (msg:"every packet"; ttl:>0; sid:1; rev:1;)' >"$work/every.rules"

run_export() { # $1: label, $2: extra [export] lines; prints a result line
    local spool="$work/spool-$1" eve="$work/eve-$1.json"
    rm -rf "$spool"
    start_center "$work/center-$1.db"
    sensor_config "$work/sensor.toml" "$spool" "queue_capacity = 1048576
$2"
    local t0 t1 center_cpu
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$work/time-$1.txt" "$sensor" replay --config "$work/sensor.toml" --rules "$work/every.rules" --progress never \
        --summary-json --export-wait 600 --eve "$eve" "$pcap" 2>"$work/summary-$1.txt"
    t1=$(date +%s.%N)
    center_cpu=$(cpu_secs "$center_pid")
    local stored
    stored=$(alerts_stored)
    stop_center
    python3 - "$work/summary-$1.txt" "$eve" "$t0" "$t1" "$stored" "$1" "$work/time-$1.txt" "$center_cpu" <<'PY'
import json, sys
summary, eve, t0, t1, stored, label, timef, center_cpu = sys.argv[1:]
sensor_cpu = sum(float(x) for x in open(timef).read().split()[-2:])
s = json.loads([l for l in open(summary) if l.startswith("{")][-1])
x = s["export"]
n, size = 0, 0
with open(eve, "rb") as f:
    for line in f:
        if b'"event_type":"alert"' in line[:200]:
            n += 1
            size += len(line)
wall = float(t1) - float(t0)
print(f"{label}: {n} alerts, {stored} stored by the center, dropped at the queue {x['dropped_queue_full'][0]}; "
      f"sensor wall {wall:.2f} s (replay alone {s['elapsed_secs']:.2f} s): {int(stored)/wall:,.0f} alerts/s end to end; "
      f"wire {x['bytes_sent']} bytes = {x['bytes_sent']/max(n,1):.1f} bytes/alert; "
      f"EVE JSON {size/max(n,1):.0f} bytes/alert; "
      f"CPU s: sensor {sensor_cpu:.2f}, center {float(center_cpu):.2f}")
PY
}

echo "== end to end, no dictionary"
run_export plain ""
[[ "${BENCH_ONLY:-}" == plain ]] && exit 0
echo "== end to end, with a 64 KiB dictionary trained on the first run's alerts"
"$sensor" export train-dict --eve "$work/eve-plain.json" --out "$work/alerts.dict" --size 65536
run_export dict "dictionary_path = \"$work/alerts.dict\""

echo "== center ingest alone (one writer, durable commits of 1000 alerts)"
"$ingest" sqlite "$work/ingest.db" 200000 1000
pgbin=${TAPWATCH_PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ -x "$pgbin/initdb" ]]; then
    pgdir="$work/pg"; mkdir -p "$pgdir"
    as=()
    if [[ $(id -u) == 0 ]]; then chown -R postgres:postgres "$pgdir"; chmod 755 "$work"; as=(runuser -u postgres --); fi
    "${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -U tapwatch -A trust --no-sync >/dev/null
    "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -o "-k $pgdir -c listen_addresses=''" -w start >/dev/null
    pg_ctl_stop="${as[*]} $pgbin/pg_ctl -D $pgdir/data -m immediate stop"
    "${as[@]}" "$pgbin/createdb" -h "$pgdir" -U tapwatch tapwatch
    "$ingest" postgres "host=$pgdir user=tapwatch dbname=tapwatch" 200000 1000
else
    echo "postgres: skipped ($pgbin/initdb not found)"
fi
