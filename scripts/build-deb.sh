#!/usr/bin/env bash
# Builds the Debian package tapwatch_<version>_<arch>.deb from binaries already built:
# both binaries, the systemd units, sysusers.d and tmpfiles.d entries, and the default
# configurations (/etc/tapwatch/tapwatch.toml and /etc/tapwatch-center/center.toml, set up
# for the services' directories). Staged in a temporary directory and packed with
# `dpkg-deb --build`: nothing else to install or compile.
#
#   cargo build --release -p tapwatch -p tapwatch-center && scripts/build-deb.sh
#   scripts/build-deb.sh --profile debug --out /tmp/deb --compress gzip   (tests: fast)
#
# Prints the path of the package on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
out=""
compress=xz
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --compress) compress="$2"; shift 2 ;;
        *) echo "usage: $0 [--profile release|debug] [--out DIR] [--compress xz|gzip|none]" >&2; exit 2 ;;
    esac
done
target="${CARGO_TARGET_DIR:-target}"
bin_dir="$target/$profile"
out="${out:-$target/deb}"
for b in tapwatch tapwatch-center; do
    if [[ ! -x "$bin_dir/$b" ]]; then
        echo "build-deb: $bin_dir/$b is missing: cargo build --profile $profile -p tapwatch -p tapwatch-center" >&2
        exit 1
    fi
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/tapwatch_${version}_${arch}"

install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
    "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/etc/tapwatch/rules" \
    "$root/etc/tapwatch-center" "$root/usr/share/doc/tapwatch"
for b in tapwatch tapwatch-center; do
    install -m 0755 "$bin_dir/$b" "$root/usr/bin/$b"
    if command -v strip >/dev/null; then strip --strip-debug "$root/usr/bin/$b"; fi
done
install -m 0644 systemd/tapwatch.service systemd/tapwatch-center.service "$root/lib/systemd/system/"
install -m 0644 systemd/tapwatch.sysusers "$root/usr/lib/sysusers.d/tapwatch.conf"
install -m 0644 systemd/tapwatch.tmpfiles "$root/usr/lib/tmpfiles.d/tapwatch.conf"
install -m 0644 README.md "$root/usr/share/doc/tapwatch/README.md"
cat > "$root/usr/share/doc/tapwatch/copyright" <<'TXT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tapwatch
Files: *
License: Apache-2.0 OR MIT
TXT

# The sensor's configuration: the annotated default, with the service's directories.
# Each substitution must happen: a changed example fails the build instead of shipping a
# configuration that points elsewhere.
sensor_conf="$root/etc/tapwatch/tapwatch.toml"
{
    echo "# tapwatch sensor configuration, as installed by the Debian package."
    echo "# Name the capture interface(s) in [capture] interfaces, then:"
    echo "#   tapwatch check --config /etc/tapwatch/tapwatch.toml && systemctl enable --now tapwatch"
    echo "#"
    sed -e 's|^# rule_path = "/etc/tapwatch/rules"$|rule_path = "/etc/tapwatch/rules"|' \
        -e 's|^rule_files = \[\]$|rule_files = ["local.rules"]|' \
        -e 's|^# cache_dir = "/var/cache/tapwatch"$|cache_dir = "/var/cache/tapwatch"|' \
        -e 's|^# path = "/var/log/tapwatch/eve.json"$|path = "/var/log/tapwatch/eve.json"|' \
        sensor/pipeline/tapwatch.example.toml
} > "$sensor_conf"
for want in '^rule_path = "/etc/tapwatch/rules"$' '^rule_files = \["local.rules"\]$' \
    '^cache_dir = "/var/cache/tapwatch"$' '^spool_dir = "/var/lib/tapwatch/spool"$' \
    '^path = "/var/log/tapwatch/eve.json"$'; do
    grep -q "$want" "$sensor_conf" || { echo "build-deb: $want not in the packaged configuration" >&2; exit 1; }
done
cat > "$root/etc/tapwatch/rules/local.rules" <<'TXT'
# Local Suricata rules, loaded by /etc/tapwatch/tapwatch.toml ([detect] rule_files).
# Add rule sets (e.g. ET Open's emerging-all.rules) to this directory and to rule_files;
# `systemctl reload tapwatch` applies them without a restart.
TXT
center_conf="$root/etc/tapwatch-center/center.toml"
sed -e 's|^path = "center.db"$|path = "/var/lib/tapwatch-center/center.db"|' \
    center/center.example.toml > "$center_conf"
grep -q '^path = "/var/lib/tapwatch-center/center.db"$' "$center_conf" \
    || { echo "build-deb: the center's storage path was not set" >&2; exit 1; }
chmod 0644 "$sensor_conf" "$center_conf" "$root/etc/tapwatch/rules/local.rules"

cat > "$root/DEBIAN/conffiles" <<'TXT'
/etc/tapwatch/tapwatch.toml
/etc/tapwatch/rules/local.rules
/etc/tapwatch-center/center.toml
TXT

# The shared libraries the binaries link directly (NEEDED) → the packages that hold them.
depends=$(
    for b in tapwatch tapwatch-center; do
        needed=$(readelf -d "$bin_dir/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
        ldd "$bin_dir/$b" | awk '/=> \// { print $1, $3 }' | while read -r name path; do
            grep -qxF "$name" <<<"$needed" && echo "$path"
        done
    done | sort -u | while read -r lib; do
        real=$(readlink -f "$lib")
        for p in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
            pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n "$pkg" ]] && { echo "$pkg"; break; }
        done
    done | sort -u | paste -sd, | sed 's/,/, /g'
)
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<TXT
Package: tapwatch
Version: $version
Architecture: $arch
Maintainer: tapwatch developers <tapwatch@example.invalid>
Installed-Size: $size
Depends: $depends
Recommends: systemd
Section: net
Priority: optional
Homepage: https://example.invalid/tapwatch
Description: network security sensor (Suricata-compatible) and its national center
 tapwatch captures packets (AF_XDP behind an XDP program, or AF_PACKET), decodes and
 reassembles them, matches Suricata rules with Hyperscan and writes Suricata-compatible
 EVE JSON; alerts go to tapwatch-center over gRPC with mutual TLS.
 .
 Both run as systemd services (tapwatch.service, tapwatch-center.service) under their
 own unprivileged users. Nothing is started at installation: configure, check with
 "tapwatch check --config /etc/tapwatch/tapwatch.toml", then enable.
TXT

cat > "$root/DEBIAN/postinst" <<'TXT'
#!/bin/sh
# Creates the users and directories; starts nothing (a sensor must be told its interfaces).
set -e
if [ "$1" = "configure" ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers /usr/lib/sysusers.d/tapwatch.conf
    else
        for u in tapwatch:/var/lib/tapwatch:"tapwatch network sensor" \
                 tapwatch-center:/var/lib/tapwatch-center:"tapwatch national center"; do
            name=${u%%:*}; rest=${u#*:}; home=${rest%%:*}; gecos=${rest#*:}
            getent passwd "$name" >/dev/null || useradd --system --user-group \
                --home-dir "$home" --no-create-home --shell /usr/sbin/nologin \
                --comment "$gecos" "$name"
        done
    fi
    if command -v systemd-tmpfiles >/dev/null 2>&1; then
        systemd-tmpfiles --create /usr/lib/tmpfiles.d/tapwatch.conf
    else
        install -d -m 0750 -o tapwatch -g tapwatch /var/lib/tapwatch /var/lib/tapwatch/spool \
            /var/log/tapwatch /var/cache/tapwatch
        install -d -m 0750 -o tapwatch-center -g tapwatch-center /var/lib/tapwatch-center
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null 2>&1 || true
    fi
    if [ -z "$2" ]; then
        echo "tapwatch: set [capture] interfaces in /etc/tapwatch/tapwatch.toml, then:"
        echo "  tapwatch check --config /etc/tapwatch/tapwatch.toml && systemctl enable --now tapwatch"
    fi
fi
exit 0
TXT
cat > "$root/DEBIAN/prerm" <<'TXT'
#!/bin/sh
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
    systemctl disable --now tapwatch.service tapwatch-center.service >/dev/null 2>&1 || true
fi
exit 0
TXT
cat > "$root/DEBIAN/postrm" <<'TXT'
#!/bin/sh
# Purge removes the compiled-rule cache; the spool (alerts not yet acknowledged), EVE logs
# and the center's database are data: they stay, as do the users.
set -e
if [ "$1" = "purge" ]; then
    rm -rf /var/cache/tapwatch
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
TXT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/tapwatch_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"$compress" --build "$root" "$deb" >/dev/null
echo "$deb"
