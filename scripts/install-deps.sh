#!/usr/bin/env bash
# Installs the Debian packages tapwatch's build, demo and tests need, only when missing.
# Idempotent and quiet when everything is present. Needs root (or sudo) only when installing.
#   scripts/install-deps.sh            packages for building and running tapwatch
#   scripts/install-deps.sh --test     also the packages the test suite uses (tshark, mergecap)
set -euo pipefail

# libhyperscan-dev: the detection engine's prefilter; libpcre2-dev: `pcre` verification;
# clang, llvm, libbpf-dev: tapwatch-xdp's build.rs compiles firmware/xdp.c to BPF;
# libpcap-dev: the live capture's AF_PACKET fallback (the `pcap` crate links libpcap).
packages=(pkg-config libhyperscan-dev libpcre2-dev clang llvm libbpf-dev libpcap-dev)
if [[ "${1:-}" == "--test" ]]; then
    # tshark: the differential test's reference dissector; wireshark-common: mergecap for bench inputs;
    # postgresql: the center's storage tests start a throwaway server of their own;
    # tcpreplay, iproute2, ethtool: the privileged XDP and live-capture tests (namespaces,
    # veth, sending; `taskset` comes with util-linux); logrotate: the EVE output's test with
    # samples/logrotate.d/tapwatch; systemd: systemd-analyze for the units' checks; binutils:
    # readelf and strip for the Debian package (scripts/test-package.sh).
    packages+=(tshark wireshark-common postgresql tcpreplay iproute2 ethtool logrotate systemd binutils)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
