//! The captures the differential test compares, and the differences it accepts.

use super::{Kind, Side};

/// Captures under `corpus/pcaps/`, in groups, each with why it is here.
pub const CAPTURES: &[(&str, &[&str])] = &[
    (
        "IP-in-IP: 4in4, 4in6, 6in4, 6in6 and nested 6in6in6, and a 6in4 tunnel broker",
        &[
            "zeek/tunnels/4in4.pcap",
            "zeek/tunnels/4in6.pcap",
            "zeek/tunnels/6in4.pcap",
            "zeek/tunnels/6in6.pcap",
            "zeek/tunnels/6in6in6.pcap",
            "ndpi/6in4tunnel.pcap",
        ],
    ),
    (
        "Geneve: options, IPv6 inner, tagged inner frames, a non-standard port, truncation",
        &[
            "zeek/tunnels/geneve.pcap",
            "zeek/tunnels/geneve-47101.pcap",
            "zeek/tunnels/geneve-ipv6.pcap",
            "zeek/tunnels/geneve-many-options.pcap",
            "zeek/tunnels/geneve-vxlan-dns-truncated.pcap",
        ],
    ),
    (
        "VXLAN: plain, with HTTP inside, three levels deep, and a busy trace",
        &[
            "zeek/tunnels/vxlan.pcap",
            "zeek/tunnels/vxlan-encapsulated-http.pcap",
            "zeek/tunnels/vxlan-triple-v2.pcap",
            "ndpi/vxlan.pcap",
        ],
    ),
    (
        "GRE: v0 with keys, GRE in GRE, PPTP (enhanced GRE with PPP), GRE-in-UDP (RFC 8086)",
        &[
            "zeek/tunnels/gre-sample.pcap",
            "zeek/tunnels/gre-within-gre.pcap",
            "zeek/tunnels/gre-pptp.pcap",
            "zeek/tunnels/gre-over-udp-4754.pcap",
            "ndpi/gre.pcapng",
        ],
    ),
    (
        "ERSPAN types I, II and III, ERSPAN with VLANs, and VXLAN inside ERSPAN",
        &[
            "zeek/erspan.pcap",
            "zeek/erspanI.pcap",
            "zeek/erspanII.pcap",
            "zeek/erspanIII.pcap",
            "zeek/tunnels/gre-erspan3-dot1q.pcap",
            "arkime/gre-erspan.pcap",
            "arkime/gre-erspan-vxlan.pcap",
        ],
    ),
    (
        "Teredo (decoded), AYIYA and GTP (not decoded: tshark is told to leave them too)",
        &[
            "zeek/tunnels/Teredo.pcap",
            "zeek/tunnels/teredo_bubble_with_payload.pcap",
            "ndpi/teredo.pcap",
            "zeek/tunnels/ayiya3.pcap",
            "zeek/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap",
            "arkime/ipv6-gtp6.pcap",
        ],
    ),
    (
        "MPLS: over Ethernet, mixed with VLANs, inside a VLAN, 6in6 with a bad version",
        &[
            "arkime/mpls-basic.pcap",
            "zeek/mixed-vlan-mpls.pcap",
            "zeek/mpls-in-vlan.pcap",
            "zeek/tunnels/mpls-6in6-6in6-4in6-invalid-version-4.pcap",
        ],
    ),
    (
        "VLAN: 802.1Q, QinQ, QinQinQ, PCP/DEI bits, colliding ids, VN-Tag",
        &[
            "zeek/http-vlan-0.pcap",
            "zeek/http-qinq-0.pcap",
            "zeek/vlan-qinqinq.pcap",
            "zeek/vlan-pcp-dei.pcapng",
            "zeek/vlan-collisions.pcap",
            "arkime/twovlan.pcap",
            "zeek/vntag.pcap",
        ],
    ),
    (
        "PPPoE: session traffic, over QinQ",
        &[
            "zeek/pppoe.pcap",
            "zeek/pppoe-over-qinq.pcap",
            "arkime/pppoe.pcap",
        ],
    ),
    (
        "IPv4 fragments: in order, out of order, overlapping, a fragmented SYN, DNS, SMB",
        &[
            "zeek/ipv4/fragmented-1.pcap",
            "zeek/ipv4/fragmented-2.pcap",
            "zeek/ipv4/fragmented-3.pcap",
            "zeek/ipv4/fragmented-4.pcap",
            "zeek/ipv4/fragmented-syn.pcap",
            "markofu/PracticalPacketAnalysis/ppa-capture-files/ipfragments.pcap",
            "ndpi/smb_frags.pcap",
        ],
    ),
    (
        "IPv6 fragments: large DNS answers, atomic fragments, ICMPv6",
        &[
            "zeek/ipv6-fragmented-dns.pcap",
            "zeek/ipv6-http-atomic-frag.pcap",
            "ndpi/dns_fragmented.pcap",
            "chrissanders/ipv6_fragments.pcapng",
        ],
    ),
    (
        "Linux cooked capture v1 and v2 (pcap and pcapng)",
        &[
            "zeek/linux_dlt_sll2.pcap",
            "zeek/tls/openjdk-25.0.2-zeek.org.pcap",
            "zeek/tls/irc-starttls.pcap",
            "ndpi/http2.pcapng",
            "zeek/ldap/issue-32.pcapng",
            "ndpi/log4j-webapp-exploit.pcap",
        ],
    ),
    (
        "Raw IP link types (DLT_RAW 12/14, LINKTYPE_RAW 101, IPv4 228, IPv6 229)",
        &[
            "zeek/http/basic-auth-with-colon.pcap",
            "zeek/dns/ech.pcap",
            "zeek/icmp/icmp6-mldv2.pcap",
            "ndpi/hls.pcapng",
            "zeek/rotation.pcap",
            "ndpi/bjnp.pcap",
        ],
    ),
    (
        "BSD null/loopback (both byte orders, IPv4 and IPv6)",
        &[
            "zeek/http/connect-with-header.pcap",
            "arkime/http-empty-useragent.pcap",
            "arkime/tls-alpn-h2.pcap",
            "arkime/ssl-selfsign.pcap",
            "zeek/tls/pop3-starttls.pcap",
            "zeek/tunnels/socks.pcap",
        ],
    ),
    (
        "PPP link type: PPP in HDLC framing, and Cisco HDLC written as PPP",
        &[
            "zeek/ppp/quic-interop-retry.pcap",
            "ndpi/dlt_ppp.pcap",
            "ndpi/BGP_Cisco_hdlc_slarp.pcap",
        ],
    ),
    (
        "NFLOG link type (little-endian TLVs), Cisco HDLC and Frame Relay link types",
        &[
            "zeek/nflog-http.pcap",
            "arkime/nflog.pcap",
            "ndpi/BGP_redist.pcap",
            "arkime/icmp-frame-relay.pcap",
        ],
    ),
    (
        "FDDI with LLC/SNAP, PPI before Ethernet, 802.11 data frames (bare and radiotap)",
        &[
            "zeek/dns-inverse-query.pcap",
            "ndpi/someip_sd_sample.pcap",
            "zeek/wlanmon.pcap",
            "zeek/radiotap.pcap",
            "arkime/80211http.pcap",
        ],
    ),
    (
        "nanosecond pcap and pcapng with per-packet link types",
        &[
            "zeek/http/get-to-ssh-server.pcap",
            "zeek/ldap/gap-data-missing.pcapng",
        ],
    ),
    (
        "DNS over UDP and TCP, mDNS, NetBIOS name service, punycode",
        &[
            "arkime/dns-tcp.pcap",
            "arkime/dns-udp.pcap",
            "arkime/dns-wiresharkrepo.pcap",
            "arkime/nbns.pcap",
            "zeek/dns/mdns.pcap",
            "chrissanders/dns_tcp.pcapng",
            "markofu/PracticalPacketAnalysis/ppa-capture-files/dns.cap",
        ],
    ),
    (
        "TLS: 1.2, 1.3 with ECH, SSLv2, fragmented handshakes, HelloRetryRequest",
        &[
            "zeek/tls/tls1.2.pcap",
            "zeek/tls/tls13-ech.pcap",
            "zeek/tls/tls-fragmented-handshake.pcap",
            "zeek/tls/hrr.pcap",
        ],
    ),
    (
        "HTTP: non-standard ports, no FINs, padding, SOCKS, many requests, IPv4 and IPv6",
        &[
            "zeek/http/http-lower-case-nonstandard-port.pcap",
            "zeek/http/get-without-fins.pcap",
            "zeek/tcp-http-with-padding.pcap",
            "arkime/socks5-http-302-frag.pcap",
            "chrissanders/http_espn.pcapng",
            "chrissanders/http_ip4and6.pcapng",
            "markofu/PracticalPacketAnalysis/ppa-capture-files/http.cap",
        ],
    ),
];

/// Differences the test accepts: in `capture`, values of `kind` seen only by `side`.
/// `values` are exact values as the test prints them, or `*` for every value of that kind
/// and side in that capture.
#[derive(Debug, Clone, Copy)]
pub struct Allow {
    pub capture: &'static str,
    pub kind: Kind,
    pub side: Side,
    pub values: &'static [&'static str],
    pub reason: &'static str,
}

const fn allow(
    capture: &'static str,
    kind: Kind,
    side: Side,
    values: &'static [&'static str],
    reason: &'static str,
) -> Allow {
    Allow {
        capture,
        kind,
        side,
        values,
        reason,
    }
}

use Kind::{Conv, Dns, Http, Sni};
use Side::{Tapwatch, Tshark};

const SNAPLEN_CUT: &str = "frames cut short by the snap length: the outer IPv4 total length \
     exceeds the captured bytes, so tapwatch (like Suricata) raises ipv4.trunc_pkt and stops, \
     while tshark dissects the truncated inner packets anyway";
const MIDSTREAM: &str = "requests in TCP sessions whose handshake is not in the capture: \
     tapwatch, like Suricata with its default stream.midstream=false, does not parse them";
const SOCKS: &str = "HTTP carried inside a SOCKS session: tshark dissects through SOCKS, \
     tapwatch (like Suricata) has no SOCKS parser";

/// Every accepted difference, with its reason.
#[rustfmt::skip]
pub const ALLOWED: &[Allow] = &[
    allow("zeek/tunnels/geneve-vxlan-dns-truncated.pcap", Conv, Tshark,
        &["UDP 1.1.1.1:53 172.16.11.201:36872"], SNAPLEN_CUT),
    allow("zeek/tunnels/geneve-vxlan-dns-truncated.pcap", Dns, Tshark, &["corelight.com"],
        SNAPLEN_CUT),
    allow("arkime/gre-erspan-vxlan.pcap", Http, Tshark, &[" /Hello"],
        "the request line `GET /Hello Arkime HTTP/1.0` (inside VXLAN-GPE on port 4790) has a \
         space in its URI: tshark ends the URI at the first space"),
    allow("arkime/gre-erspan-vxlan.pcap", Http, Tapwatch, &[" /Hello Arkime"],
        "the same request: tapwatch takes the URI up to the space before the version"),
    allow("zeek/mpls-in-vlan.pcap", Http, Tshark, &["*"], MIDSTREAM),
    allow("markofu/PracticalPacketAnalysis/ppa-capture-files/http.cap", Http, Tshark, &["*"],
        MIDSTREAM),
    allow("zeek/ipv6-http-atomic-frag.pcap", Http, Tapwatch, &[" /bad.html"],
        "IPv6 atomic fragments (Fragment header, offset 0, M=0) carry the request: tapwatch \
         and Suricata 8 both log it, tshark does not dissect it as HTTP"),
    allow("zeek/http/connect-with-header.pcap", Sni, Tshark, &["secure.newegg.com"],
        "TLS inside an HTTP CONNECT tunnel: tapwatch does not switch the flow to TLS after \
         the 200 answer (tapwatch-app; Suricata 8 logs this SNI)"),
    allow("zeek/http/get-to-ssh-server.pcap", Http, Tapwatch, &["128.3.50.246 /"],
        "an HTTP request sent to port 22: tapwatch detects HTTP by content, tshark dissects \
         the port as SSH"),
    allow("zeek/tcp-http-with-padding.pcap", Http, Tapwatch, &[" /"],
        "HTTP typed byte by byte on port 27272: tapwatch detects it by content, tshark's \
         heuristic needs more in one segment"),
    allow("arkime/socks5-http-302-frag.pcap", Http, Tshark, &["www.google.com /"], SOCKS),
    allow("zeek/tunnels/socks.pcap", Http, Tshark, &["www.icir.org /"], SOCKS),
    allow("zeek/erspan.pcap", Dns, Tshark, &["wpad"],
        "an LLMNR query (UDP port 5355): tshark dissects LLMNR as DNS; tapwatch, like \
         Suricata's default UDP DNS detection, parses DNS only with port 53 on one side"),
    allow("zeek/tunnels/teredo_bubble_with_payload.pcap", Conv, Tapwatch,
        &["UDP 65.55.158.80:3544 192.168.2.16:3797"],
        "a Teredo bubble (IPv6, no next header) followed by 4 stray bytes: its payload length \
         does not fill the datagram, so tapwatch does not take it for Teredo and tracks the \
         outer UDP flow; tshark dissects any packet on port 3544 as Teredo"),
];
