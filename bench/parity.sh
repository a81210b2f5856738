#!/usr/bin/env bash
# Alert parity with Suricata 8.0.6 on the benchmark input: per-signature alert counts from
# tapwatch's EVE against ../shared/bench/suricata-8.0.6-alerts-by-sid-shared-ether-et2024.tsv
# (Suricata 8.0.6, default configuration, -k none, one thread, et-open-2024-04-all.rules on
# shared-ether-merged.pcap).
#
#   bench/parity.sh                  replay (release build) and compare
#   bench/parity.sh EVE.json         compare an existing EVE file (e.g. from BENCH_EVE=... bench/detect.sh)
#   BENCH_INPUTS=/dir                inputs built by make-bench-inputs.sh (default /tmp/tapwatch-bench)
#   PARITY_TOLERANCE=0.1             relative count difference still counted as "same" (default 0)
#
# Prints the signatures only Suricata raised (missing), only tapwatch raised (extra), those
# raised by both with different counts, and totals. Exit status 0 when the same signatures
# alerted with counts within the tolerance, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${TAPWATCH_SHARED:-../shared}
inputs=${BENCH_INPUTS:-/tmp/tapwatch-bench}
reference="$shared/bench/suricata-8.0.6-alerts-by-sid-shared-ether-et2024.tsv"
[[ -f "$reference" ]] || { echo "parity: $reference not found (set TAPWATCH_SHARED)" >&2; exit 2; }

eve=${1:-}
if [[ -z $eve ]]; then
    pcap="$inputs/shared-ether-merged.pcap"
    rules="$inputs/et-open-2024-04-all.rules"
    if [[ ! -f "$pcap" || ! -f "$rules" ]]; then
        bash "$shared/bench/make-bench-inputs.sh" "$inputs" >/dev/null
    fi
    cargo build --release --locked --bin tapwatch >/dev/null 2>&1 || cargo build --release --locked --bin tapwatch
    bin=${CARGO_TARGET_DIR:-target}/release/tapwatch
    eve=$(mktemp --suffix=.eve.json)
    trap 'rm -f "$eve"' EXIT
    # Suricata's reference ran with -k none: tapwatch's default (checksum validation off) matches.
    "$bin" replay --progress never --rules "$rules" --eve "$eve" "$pcap" 2>/dev/null
fi

python3 - "$reference" "$eve" "${PARITY_TOLERANCE:-0}" <<'PY'
import collections, json, sys
ref_path, eve_path, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
ref, names = {}, {}
with open(ref_path) as f:
    header = f.readline().rstrip('\n').split('\t')
    for line in f:
        row = dict(zip(header, line.rstrip('\n').split('\t')))
        sid = int(row['sid'])
        ref[sid] = int(row['median'])
        names[sid] = row.get('signature', '')
ours = collections.Counter()
with open(eve_path) as f:
    for line in f:
        if '"event_type":"alert"' not in line:
            continue
        a = json.loads(line)['alert']
        ours[a['signature_id']] += 1
        names.setdefault(a['signature_id'], a.get('signature', ''))
missing = sorted((s for s in ref if s not in ours), key=lambda s: -ref[s])
extra = sorted((s for s in ours if s not in ref), key=lambda s: -ours[s])
differ = sorted((s for s in ref if s in ours and abs(ours[s] - ref[s]) > tol * ref[s]),
                key=lambda s: -abs(ours[s] - ref[s]))
same = sum(1 for s in ref if s in ours) - len(differ)
def show(title, sids, fmt):
    print(f"{title}: {len(sids)}")
    for s in sids:
        print("  " + fmt(s))
show("missing (Suricata only)", missing, lambda s: f"{s:>9} suricata {ref[s]:>6}  {names[s]}")
show("extra (tapwatch only)", extra, lambda s: f"{s:>9} tapwatch {ours[s]:>6}  {names[s]}")
show("count differs", differ,
     lambda s: f"{s:>9} suricata {ref[s]:>6} tapwatch {ours[s]:>6} ({ours[s]-ref[s]:+d})  {names[s]}")
print(f"totals: suricata {sum(ref.values())} alerts from {len(ref)} signatures; "
      f"tapwatch {sum(ours.values())} alerts from {len(ours)} signatures; "
      f"{same} signatures with the same count{' (within ' + str(tol) + ')' if tol else ''}, "
      f"{len(differ)} with different counts, {len(missing)} missing, {len(extra)} extra")
sys.exit(0 if not (missing or extra or differ) else 1)
PY
