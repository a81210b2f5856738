#!/usr/bin/env bash
# Runs every check tapwatch keeps green: formatting, lints, unit/property/integration tests
# (corpus replays and differential tests read ../shared when it is there), and fuzz smoke runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== dependency licences"
python3 scripts/check-licences.py

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== fuzz smoke runs"
scripts/fuzz-smoke.sh
