#!/usr/bin/env bash
# Runs every check tapwatch keeps green: formatting, lints, unit/property/integration tests
# (corpus replays and differential tests read ../shared when it is there), and fuzz smoke runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

# A one-shot build gains nothing from incremental caches, which would add ~2.7 GB on disk.
export CARGO_INCREMENTAL=0

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== dependency licences"
python3 scripts/check-licences.py

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== systemd units and the Debian package (root; skipped otherwise)"
scripts/test-package.sh

echo "== fuzz smoke runs"
scripts/fuzz-smoke.sh
