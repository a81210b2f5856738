#!/usr/bin/env bash
# Builds tapwatch and replays the bundled sample capture, writing EVE JSON to a temporary file
# and printing what was seen.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --locked --bin tapwatch
out=$(mktemp -d)
./target/release/tapwatch replay --eve "$out/eve.json" samples/sample.pcap
echo
echo "EVE records by event_type ($out/eve.json):"
grep -o '"event_type":"[a-z_]*"' "$out/eve.json" | sort | uniq -c
