#!/usr/bin/env bash
# Fuzz smoke run: builds tapwatch-fuzz (dev profile) and runs every target for a few seconds
# (about 50 s in all), seeded from the shared corpus when it is there. Exits non-zero, with
# the crashing input's path, when a target panics.
#
#   scripts/fuzz-smoke.sh              # every target, FUZZ_SECONDS (default 5) each
#   FUZZ_SECONDS=60 scripts/fuzz-smoke.sh wire http
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-5}"
rng_seed="${FUZZ_RNG_SEED:-0}"
shared="${TAPWATCH_SHARED:-../shared}"
target_dir="${CARGO_TARGET_DIR:-target}"

cargo build --locked -q -p tapwatch-fuzz
fuzz="$target_dir/debug/tapwatch-fuzz"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("$fuzz" list --smoke | cut -d' ' -f1)
fi

pcaps="$shared/corpus/pcaps"
if [ -d "$pcaps" ]; then
    echo "fuzz-smoke: seeding capture targets from $pcaps"
else
    echo "fuzz-smoke: skipped: shared corpus not found at $pcaps (built-in seeds only)"
fi

echo "fuzz-smoke: rng seed $rng_seed, ${seconds}s per target"
for t in "${targets[@]}"; do
    args=(run "$t" --seconds "$seconds" --rng-seed "$rng_seed")
    case "$t" in
        capture | wire | pipeline)
            if [ -d "$pcaps" ]; then
                args+=(--seed-dir "$pcaps" --max-seed-files 24)
            fi
            ;;
    esac
    "$fuzz" "${args[@]}"
done
echo "fuzz-smoke: ok"
