// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * tapwatch's XDP program: the first stage of the capture path.
 *
 * Per frame:
 *   1. parse Ethernet, up to two VLAN tags (802.1Q / 802.1ad), IPv4 (with options) or IPv6
 *      (skipping up to TW_V6_EXT_MAX extension headers), and the TCP/UDP/SCTP ports;
 *   2. monitored-prefix filter (when TW_CFG_FILTER_ENABLED is 1): an IP packet is inspected
 *      only when its source or destination lies in a monitored prefix, otherwise XDP_PASS;
 *   3. flow bypass: a packet whose canonical flow key is in tw_bypass is dropped here and
 *      counted in the entry (per direction) -- userspace decided the flow needs no more
 *      inspection;
 *   4. otherwise redirect into the AF_XDP socket registered for the receive queue, or to the
 *      kernel stack when there is none.
 *
 * Decisions:
 *   - Non-IP frames (ARP, LLDP, ...) are redirected when the filter is off (an IDS sees
 *     everything it is given) and passed to the stack when it is on (they touch no monitored
 *     prefix; the host may need ARP to keep working). Counted in TW_CNT_NON_IP either way,
 *     and in TW_CNT_FILTERED when passed.
 *   - Frames whose IP header is truncated cannot be filtered or bypassed: they are redirected
 *     whatever the filter says (malformed packets are what an IDS wants to see) and counted in
 *     TW_CNT_PARSE_ERRORS. A truncated transport header is counted too; the frame keeps ports 0.
 *   - IP fragments (first or later) have ports 0, so all fragments of a datagram share a key.
 *   - tw_bypass is a plain HASH, not an LRU_HASH: only userspace inserts, so a full map is an
 *     insertion error it can count, and an entry is never evicted behind its back -- its
 *     per-direction packet and byte counts are the evidence the flow record needs when the
 *     sweep removes it.
 *
 * Licence: the project's MIT licence; the licence string says "Dual MIT/GPL" as is usual for
 * BPF programs. None of the helpers used (map lookup/update, redirect_map, ktime_get_ns,
 * xdp_get_buff_len) is GPL-only.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tapwatch_xdp.h"

#define TW_V6_EXT_MAX 6

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TW_CFG_MAX);
	__type(key, __u32);
	__type(value, __u32);
} tw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tw_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_BYPASS_MAX_ENTRIES);
	__type(key, struct tw_flow_key);
	__type(value, struct tw_flow_value);
} tw_bypass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TW_PREFIX_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_lpm_v4);
	__type(value, __u8);
} tw_prefix_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TW_PREFIX_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_lpm_v6);
	__type(value, __u8);
} tw_prefix_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, TW_XSKS_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} tw_xsks SEC(".maps");

/* What the parser could read. */
enum tw_parse {
	TW_PARSE_OK = 0,       /* addresses (and ports when present) read */
	TW_PARSE_NON_IP,       /* neither IPv4 nor IPv6, or truncated before the IP header */
	TW_PARSE_L3_TRUNCATED, /* IP header cut short: addresses unknown */
	TW_PARSE_L4_TRUNCATED, /* addresses read, transport header cut short: ports 0 */
};

struct tw_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* Addresses and ports in packet order (source first), before canonical ordering. */
struct tw_packet {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 ip_version;
	__u8 protocol;
	__u16 vlan_outer;
	__u16 vlan_inner;
	__u8 fragment;
};

static __always_inline void tw_count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&tw_counters, &index);
	if (value)
		*value += 1; /* per-CPU slot: no other CPU writes it */
}

static __always_inline int tw_ports(void *l4, void *end, struct tw_packet *p)
{
	if (p->fragment)
		return TW_PARSE_OK;
	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP && p->protocol != IPPROTO_SCTP)
		return TW_PARSE_OK;
	__be16 *ports = l4;
	if ((void *)(ports + 2) > end)
		return TW_PARSE_L4_TRUNCATED;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	return TW_PARSE_OK;
}

static __always_inline int tw_parse_v4(void *pos, void *end, struct tw_packet *p)
{
	struct iphdr *ip = pos;
	if ((void *)(ip + 1) > end)
		return TW_PARSE_L3_TRUNCATED;
	__u32 ihl = (ip->ihl & 0xf) * 4;
	if (ihl < sizeof(*ip))
		return TW_PARSE_L3_TRUNCATED;
	p->ip_version = 4;
	p->protocol = ip->protocol;
	p->src[10] = 0xff;
	p->src[11] = 0xff;
	p->dst[10] = 0xff;
	p->dst[11] = 0xff;
	__builtin_memcpy(&p->src[12], &ip->saddr, 4);
	__builtin_memcpy(&p->dst[12], &ip->daddr, 4);
	if (ip->frag_off & bpf_htons(0x3fff)) /* MF flag or a fragment offset */
		p->fragment = 1;
	void *l4 = pos + ihl;
	if (l4 > end)
		return TW_PARSE_L4_TRUNCATED;
	return tw_ports(l4, end, p);
}

struct tw_v6_opt {
	__u8 nexthdr;
	__u8 hdrlen;
	__be16 frag_off; /* meaningful in a fragment header only */
};

static __always_inline int tw_parse_v6(void *pos, void *end, struct tw_packet *p)
{
	struct ipv6hdr *ip6 = pos;
	if ((void *)(ip6 + 1) > end)
		return TW_PARSE_L3_TRUNCATED;
	p->ip_version = 6;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	__u8 next = ip6->nexthdr;
	pos = ip6 + 1;

#pragma unroll
	for (int i = 0; i < TW_V6_EXT_MAX; i++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT && next != IPPROTO_AH)
			break;
		struct tw_v6_opt *opt = pos;
		if ((void *)(opt + 1) > end) {
			p->protocol = next;
			return TW_PARSE_L4_TRUNCATED;
		}
		__u32 len;
		if (next == IPPROTO_FRAGMENT) {
			len = 8;
			if (opt->frag_off & bpf_htons(0xfff9)) /* offset or M flag: a real fragment */
				p->fragment = 1;
		} else if (next == IPPROTO_AH) {
			len = ((__u32)opt->hdrlen + 2) * 4;
		} else {
			len = ((__u32)opt->hdrlen + 1) * 8;
		}
		next = opt->nexthdr;
		pos += len;
		if (p->fragment)
			break;
	}
	p->protocol = next;
	if (pos > end)
		return TW_PARSE_L4_TRUNCATED;
	return tw_ports(pos, end, p);
}

static __always_inline int tw_parse(void *data, void *end, struct tw_packet *p)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return TW_PARSE_NON_IP;
	__be16 proto = eth->h_proto;
	void *pos = eth + 1;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct tw_vlan_hdr *vlan = pos;
		if ((void *)(vlan + 1) > end)
			return TW_PARSE_NON_IP;
		__u16 vid = bpf_ntohs(vlan->tci) & 0x0fff;
		if (i == 0)
			p->vlan_outer = vid;
		else
			p->vlan_inner = vid;
		proto = vlan->proto;
		pos = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP))
		return tw_parse_v4(pos, end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return tw_parse_v6(pos, end, p);
	return TW_PARSE_NON_IP;
}

/* 1 when the source or the destination lies in a monitored prefix. */
static __always_inline int tw_monitored(const struct tw_packet *p)
{
	if (p->ip_version == 4) {
		struct tw_lpm_v4 key = {.prefixlen = 32};
		__builtin_memcpy(key.addr, &p->src[12], 4);
		if (bpf_map_lookup_elem(&tw_prefix_v4, &key))
			return 1;
		__builtin_memcpy(key.addr, &p->dst[12], 4);
		return bpf_map_lookup_elem(&tw_prefix_v4, &key) != 0;
	}
	struct tw_lpm_v6 key = {.prefixlen = 128};
	__builtin_memcpy(key.addr, p->src, 16);
	if (bpf_map_lookup_elem(&tw_prefix_v6, &key))
		return 1;
	__builtin_memcpy(key.addr, p->dst, 16);
	return bpf_map_lookup_elem(&tw_prefix_v6, &key) != 0;
}

/* Fills the canonical key; returns the packet's direction (TW_DIR_*). */
static __always_inline int tw_canonical(const struct tw_packet *p, struct tw_flow_key *key)
{
	int cmp = 0;
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (cmp == 0 && p->src[i] != p->dst[i])
			cmp = p->src[i] < p->dst[i] ? -1 : 1;
	}
	int src_is_lo = cmp < 0 || (cmp == 0 && p->sport <= p->dport);

	key->ip_version = p->ip_version;
	key->protocol = p->protocol;
	key->vlan_outer = p->vlan_outer;
	key->vlan_inner = p->vlan_inner;
	key->pad = 0;
	if (src_is_lo) {
		key->port_lo = p->sport;
		key->port_hi = p->dport;
		__builtin_memcpy(key->addr_lo, p->src, 16);
		__builtin_memcpy(key->addr_hi, p->dst, 16);
		return TW_DIR_LO_TO_HI;
	}
	key->port_lo = p->dport;
	key->port_hi = p->sport;
	__builtin_memcpy(key->addr_lo, p->dst, 16);
	__builtin_memcpy(key->addr_hi, p->src, 16);
	return TW_DIR_HI_TO_LO;
}

static __always_inline int tw_redirect(struct xdp_md *ctx)
{
	long action = bpf_redirect_map(&tw_xsks, ctx->rx_queue_index, XDP_PASS);
	tw_count(action == XDP_REDIRECT ? TW_CNT_REDIRECTED : TW_CNT_PASSED);
	return (int)action;
}

static __always_inline int tw_filter_enabled(void)
{
	__u32 index = TW_CFG_FILTER_ENABLED;
	__u32 *value = bpf_map_lookup_elem(&tw_config, &index);
	return value && *value;
}

SEC("xdp.frags")
int tapwatch_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct tw_packet p = {};

	tw_count(TW_CNT_SEEN);
	int parsed = tw_parse(data, end, &p);
	int filter = tw_filter_enabled();

	if (parsed == TW_PARSE_NON_IP) {
		tw_count(TW_CNT_NON_IP);
		if (filter) {
			tw_count(TW_CNT_FILTERED);
			return XDP_PASS;
		}
		return tw_redirect(ctx);
	}
	if (parsed == TW_PARSE_L3_TRUNCATED) {
		tw_count(TW_CNT_PARSE_ERRORS);
		return tw_redirect(ctx);
	}
	if (parsed == TW_PARSE_L4_TRUNCATED)
		tw_count(TW_CNT_PARSE_ERRORS);
	if (p.fragment)
		tw_count(TW_CNT_FRAGMENTS);

	if (filter && !tw_monitored(&p)) {
		tw_count(TW_CNT_FILTERED);
		return XDP_PASS;
	}

	struct tw_flow_key key;
	int dir = tw_canonical(&p, &key);
	struct tw_flow_value *flow = bpf_map_lookup_elem(&tw_bypass, &key);
	if (flow) {
		__u64 len = bpf_xdp_get_buff_len(ctx);
		flow->last_seen_ns = bpf_ktime_get_ns();
		if (dir == TW_DIR_LO_TO_HI) {
			__sync_fetch_and_add(&flow->packets[0], 1);
			__sync_fetch_and_add(&flow->bytes[0], len);
		} else {
			__sync_fetch_and_add(&flow->packets[1], 1);
			__sync_fetch_and_add(&flow->bytes[1], len);
		}
		tw_count(TW_CNT_BYPASSED);
		return XDP_DROP;
	}
	return tw_redirect(ctx);
}

char _license[] SEC("license") = "Dual MIT/GPL";
