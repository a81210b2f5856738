# Shared by the live benchmarks (sourced, not run): two throwaway network namespaces joined by
# a veth pair with a jumbo MTU (frames of the standard input reach 10014 bytes), IPv6 off (the
# kernel then sends nothing of its own over the pair), loopback up in the sensor's namespace
# (the metrics endpoint listens on 127.0.0.1 there). Only what it creates is touched, and
# removed on exit with $work.
#
# make_netns PREFIX IF_A IF_B: sets $ns_a and $ns_b, creates $work, installs the EXIT trap
# (which also runs the caller's optional `bench_cleanup` function first).
make_netns() {
    ns_a="$1-$$-a"; ns_b="$1-$$-b"; work=$(mktemp -d)
    trap 'declare -F bench_cleanup >/dev/null && bench_cleanup; ip netns del "$ns_a" 2>/dev/null || true; ip netns del "$ns_b" 2>/dev/null || true; rm -rf "$work"' EXIT
    ip netns add "$ns_a"; ip netns add "$ns_b"
    local ns
    for ns in "$ns_a" "$ns_b"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    ip link add "$2" netns "$ns_a" mtu 10100 type veth peer name "$3" netns "$ns_b" mtu 10100
    ip -n "$ns_a" link set "$2" up; ip -n "$ns_b" link set "$3" up
    ip -n "$ns_a" link set lo up
}
