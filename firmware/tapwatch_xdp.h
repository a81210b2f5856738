/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Layouts shared by the XDP program (xdp.c) and userspace (sensor/xdp/src/layout.rs).
 *
 * Every struct here has a #[repr(C)] twin in Rust; sensor/xdp/tests/layout.rs compiles a host
 * program including this header and checks that sizes and offsets agree field by field.
 * Padding is always explicit (a named field that must be zero) so that a hash key built by
 * userspace and one built by the program are equal byte for byte.
 *
 * Byte orders: addresses are in network order (as on the wire); ports and VLAN ids are in
 * host order.
 */
#ifndef TAPWATCH_XDP_H
#define TAPWATCH_XDP_H

#include <linux/types.h>

/* ---- config map (BPF_MAP_TYPE_ARRAY of __u32, TW_CFG_MAX entries) ---- */
#define TW_CFG_FILTER_ENABLED 0 /* 1: inspect only packets touching a monitored prefix */
#define TW_CFG_MAX 4

/* ---- counters (BPF_MAP_TYPE_PERCPU_ARRAY of __u64, TW_CNT_MAX entries) ---- */
#define TW_CNT_SEEN 0         /* every frame the program ran on */
#define TW_CNT_REDIRECTED 1   /* handed to the AF_XDP socket of the receive queue */
#define TW_CNT_BYPASSED 2     /* dropped because its flow is in the bypass map */
#define TW_CNT_FILTERED 3     /* passed to the stack: outside every monitored prefix */
#define TW_CNT_PASSED 4       /* passed to the stack: no socket on the receive queue */
#define TW_CNT_PARSE_ERRORS 5 /* truncated headers (the frame is still redirected) */
#define TW_CNT_NON_IP 6       /* frames that are neither IPv4 nor IPv6 */
#define TW_CNT_FRAGMENTS 7    /* IP fragments (ports unknown, looked up with ports 0) */
#define TW_CNT_MAX 8

/* ---- flow bypass map (BPF_MAP_TYPE_HASH) ---- */
#define TW_BYPASS_MAX_ENTRIES 65536

/*
 * Canonical flow key. The two endpoints (address, port) are ordered so that both directions
 * of a flow give the same key: endpoint "lo" is the one whose 16 address bytes compare lower
 * (memcmp order, i.e. numerically in network order); on equal addresses the lower port is "lo".
 * IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d). Fragments and protocols other than
 * TCP/UDP have ports 0.
 */
struct tw_flow_key {
	__u8 ip_version; /* 4 or 6 */
	__u8 protocol;   /* IP protocol number (after IPv6 extension headers) */
	__u16 vlan_outer; /* 12-bit id of the first 802.1Q/802.1ad tag, 0 when none */
	__u16 vlan_inner; /* 12-bit id of the second tag, 0 when none */
	__u16 pad;        /* always 0 */
	__u16 port_lo;
	__u16 port_hi;
	__u8 addr_lo[16];
	__u8 addr_hi[16];
};
_Static_assert(sizeof(struct tw_flow_key) == 44, "tw_flow_key size");

/* Direction index into tw_flow_value's arrays. */
#define TW_DIR_LO_TO_HI 0 /* source is the "lo" endpoint */
#define TW_DIR_HI_TO_LO 1

struct tw_flow_value {
	__u64 last_seen_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last packet, or of insertion */
	__u64 packets[2];   /* packets bypassed, per direction */
	__u64 bytes[2];     /* bytes bypassed (whole frames, all fragments of a multi-buffer frame) */
};
_Static_assert(sizeof(struct tw_flow_value) == 40, "tw_flow_value size");

/* ---- monitored prefixes (BPF_MAP_TYPE_LPM_TRIE, value __u8 = 1) ---- */
#define TW_PREFIX_MAX_ENTRIES 4096

struct tw_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};
_Static_assert(sizeof(struct tw_lpm_v4) == 8, "tw_lpm_v4 size");

struct tw_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct tw_lpm_v6) == 20, "tw_lpm_v6 size");

/* ---- AF_XDP sockets (BPF_MAP_TYPE_XSKMAP, index = receive queue) ---- */
#define TW_XSKS_MAX_ENTRIES 64

#endif /* TAPWATCH_XDP_H */
