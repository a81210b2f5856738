#!/usr/bin/env bash
# The service's packaging, checked on this (throwaway, root) machine:
#   - both units pass `systemd-analyze verify` and `systemd-analyze security --offline=true`
#     rates each "OK" or better (exposure at most 4.9; scores in README.md);
#   - the Debian package builds from the binaries already built (debug by default),
#     installs with dpkg -i, and then `tapwatch check` passes with the installed default
#     configuration, run as the service's user; `tapwatch-center --help` runs;
#   - dpkg --purge removes it again.
# Needs root (dpkg); skips otherwise. Idempotent: a package left by an earlier run is
# replaced. Called by scripts/test.sh after cargo test.
#   scripts/test-package.sh [--profile debug|release]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
[[ "${1:-}" == "--profile" ]] && profile="$2"
if [[ $(id -u) -ne 0 ]]; then
    echo "test-package: SKIP: needs root (dpkg -i)" >&2
    exit 0
fi
target="${CARGO_TARGET_DIR:-target}"
if [[ ! -x "$target/$profile/tapwatch" || ! -x "$target/$profile/tapwatch-center" ]]; then
    cargo build --profile "$( [[ $profile == debug ]] && echo dev || echo "$profile" )" \
        -p tapwatch -p tapwatch-center
fi
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }

out=$(mktemp -d)
cleanup() {
    dpkg --purge tapwatch >/dev/null 2>&1 || true
    rm -rf "$out"
}
trap cleanup EXIT

deb=$(scripts/build-deb.sh --profile "$profile" --out "$out" --compress gzip)
dpkg --purge tapwatch >/dev/null 2>&1 || true
dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb"
echo "test-package: installed $(dpkg-query -W -f='${Package} ${Version}' tapwatch)"

for u in tapwatch tapwatch-center; do
    getent passwd "$u" >/dev/null || fail "user $u was not created"
done
for d in /var/lib/tapwatch/spool /var/log/tapwatch /var/cache/tapwatch /var/lib/tapwatch-center; do
    [[ -d "$d" ]] || fail "$d was not created"
done
[[ $(stat -c %U /var/lib/tapwatch/spool) == tapwatch ]] || fail "spool not owned by tapwatch"

# The installed default configuration passes, as the service's own user would run it
# (ExecStartPre): spool, EVE and cache directories writable by it, rules compiled.
runuser -u tapwatch -- /usr/bin/tapwatch check --config /etc/tapwatch/tapwatch.toml \
    || fail "tapwatch check with the installed configuration"
/usr/bin/tapwatch-center --help >/dev/null || fail "tapwatch-center --help"
/usr/bin/tapwatch-center config check --config /etc/tapwatch-center/center.toml >/dev/null \
    || fail "tapwatch-center config check with the installed configuration"

if command -v systemd-analyze >/dev/null; then
    for unit in tapwatch.service tapwatch-center.service; do
        systemd-analyze verify "/lib/systemd/system/$unit" || fail "systemd-analyze verify $unit"
        line=$(systemd-analyze security --offline=true --no-pager "/lib/systemd/system/$unit" \
            | grep 'Overall exposure level')
        echo "test-package: $line"
        score=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$line")
        awk -v s="$score" 'BEGIN { exit !(s <= 4.9) }' || fail "$unit: exposure $score above 4.9"
    done
else
    fail "systemd-analyze is missing (scripts/install-deps.sh --test installs systemd)"
fi

dpkg --purge tapwatch >/dev/null || fail "dpkg --purge"
[[ ! -e /usr/bin/tapwatch && ! -e /lib/systemd/system/tapwatch.service ]] || fail "files left after purge"
[[ ! -e /etc/tapwatch/tapwatch.toml ]] || fail "conffile left after purge"
echo "test-package: OK"
