//! Built-in seed inputs for every target: small, valid examples that the mutator starts from.

use std::io::Write;

/// A DNS query for `www.example.com` A.
pub(crate) fn dns_query() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    m
}

/// A DNS response to [`dns_query`] with a compressed CNAME and an A record.
pub(crate) fn dns_response() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    // CNAME www.example.com -> cdn.example.com (compressed), then A for it.
    m.extend_from_slice(&[0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6]);
    m.extend_from_slice(b"\x03cdn\xc0\x10");
    m.extend_from_slice(&[
        0xc0, 0x2d, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34,
    ]);
    m
}

/// A TLS 1.2 record holding a ClientHello with SNI `example.com` and ALPN `h2`.
pub(crate) fn client_hello() -> Vec<u8> {
    let mut ext = Vec::new();
    let name = b"example.com";
    // server_name
    ext.extend_from_slice(&[0, 0]);
    ext.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(name);
    // supported_groups, ec_point_formats, ALPN, supported_versions
    ext.extend_from_slice(&[0, 10, 0, 6, 0, 4, 0, 0x1d, 0, 0x17]);
    ext.extend_from_slice(&[0, 11, 0, 2, 1, 0]);
    ext.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
    ext.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 4, 0x13, 0x01, 0xc0, 0x2f]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    handshake_record(1, &body)
}

/// A TLS 1.2 record holding a ServerHello choosing 0xc02f.
pub(crate) fn server_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x24; 32]);
    body.push(0);
    body.extend_from_slice(&[0xc0, 0x2f, 0]);
    body.extend_from_slice(&[0, 9, 0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
    handshake_record(2, &body)
}

fn handshake_record(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut hs = vec![msg_type];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// An HTTP request and its response.
pub(crate) const HTTP_REQUEST: &[u8] =
    b"GET /index.html?a=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: fuzz\r\n\r\n";
/// A chunked HTTP response.
pub(crate) const HTTP_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

/// A stream-parser input: a configuration byte, then control/length/bytes pieces.
fn pieces(prefix: &[u8], parts: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    for (ctrl, bytes) in parts {
        for chunk in bytes.chunks(255) {
            out.push(*ctrl);
            out.push(chunk.len() as u8);
            out.extend_from_slice(chunk);
        }
    }
    out
}

/// An Ethernet/IPv4/TCP frame.
pub(crate) fn tcp_frame(to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if to_server {
        ([10, 0, 0, 1], [10, 0, 0, 2], 40_000u16, 80u16)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40_000)
    };
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&sport.to_be_bytes());
    tcp.extend_from_slice(&dport.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    ipv4_frame(src, dst, 6, &tcp)
}

/// An Ethernet/IPv4/UDP frame.
pub(crate) fn udp_frame(to_server: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if to_server {
        ([10, 0, 0, 1], [10, 0, 0, 53], 50_000u16, 53u16)
    } else {
        ([10, 0, 0, 53], [10, 0, 0, 1], 53, 50_000)
    };
    let mut udp = Vec::new();
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    ipv4_frame(src, dst, 17, &udp)
}

fn ipv4_frame(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&((l4.len() + 20) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f
}

/// An IPv6/UDP packet (no link layer).
fn ipv6_udp(payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
    p.extend_from_slice(&[17, 64]);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    p.extend_from_slice(&[0; 11]);
    p.push(1);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    p.extend_from_slice(&[0; 11]);
    p.push(2);
    p.extend_from_slice(&[0xc3, 0x50, 0, 53]);
    p.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// A TCP connection carrying one HTTP exchange, as frames.
fn http_session() -> Vec<Vec<u8>> {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH: u8 = 0x08;
    const FIN: u8 = 0x01;
    let (c, s) = (1_000u32, 5_000u32);
    let req = HTTP_REQUEST;
    let resp = HTTP_RESPONSE;
    let c2 = c + 1 + req.len() as u32;
    let s2 = s + 1 + resp.len() as u32;
    vec![
        tcp_frame(true, c, 0, SYN, &[]),
        tcp_frame(false, s, c + 1, SYN | ACK, &[]),
        tcp_frame(true, c + 1, s + 1, ACK, &[]),
        tcp_frame(true, c + 1, s + 1, ACK | PSH, req),
        tcp_frame(false, s + 1, c2, ACK | PSH, resp),
        tcp_frame(true, c2, s2, ACK | FIN, &[]),
        tcp_frame(false, s2, c2 + 1, ACK | FIN, &[]),
        tcp_frame(true, c2 + 1, s2 + 1, ACK, &[]),
    ]
}

/// A classic pcap (little-endian, microseconds, Ethernet) of `frames`.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        for field in [1_700_000_000 + i as u32, 0, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

/// A little-endian pcapng (section, one Ethernet interface, enhanced packet blocks).
fn pcapng(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let block = |out: &mut Vec<u8>, ty: u32, body: &[u8]| {
        let len = 12 + body.len().div_ceil(4) * 4;
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + (len - 12 - body.len()), 0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    };
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    block(&mut out, 1, &[1, 0, 0, 0, 0, 0, 4, 0]);
    for (i, f) in frames.iter().enumerate() {
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&(1_000_000 * i as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(f);
        block(&mut out, 6, &epb);
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if enc.write_all(data).is_err() {
        return Vec::new();
    }
    enc.finish().unwrap_or_default()
}

/// The pipeline's compact frame list: link-type byte (0: Ethernet), then per frame a time
/// byte, a 2-byte length and the frame.
fn frame_list(link: u8, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![link];
    for f in frames {
        out.push(0x10);
        out.extend_from_slice(&(f.len() as u16).to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// Signed bundles: a small rule set and a small IOC set, by the target's trusted key, an
/// unsigned copy, and IOC input in both formats.
fn bundle_seeds() -> Vec<Vec<u8>> {
    use tapwatch_bundle::build::{assemble, BuildParams};
    use tapwatch_bundle::{Kind, Role, Timestamp};
    let key = crate::targets::bundle_seed_key();
    let limits = crate::targets::bundle_limits();
    let params = |kind| BuildParams {
        kind,
        channel: "national".into(),
        version: 3,
        created: Timestamp(1_796_699_681),
    };
    let csv = "type,value,source,confidence,first_seen,expires\n\
               ip,192.0.2.0/24,cert,80,2026-12-01T00:00:00Z,\n\
               domain,evil.example,cert,90,2026-12-01,2030-01-01\n\
               ja4,t13d1516h2_8daaf6152771_b186095e22b6,lab,60,2026-12-01,\n";
    let mut seeds = vec![csv.as_bytes().to_vec()];
    let Ok(entries) = tapwatch_bundle::ioc::parse_csv(csv) else {
        return seeds;
    };
    let jsonl: String = entries
        .iter()
        .filter_map(|e| serde_json::to_string(e).ok())
        .map(|l| l + "\n")
        .collect();
    seeds.push(jsonl.clone().into_bytes());
    let sets = [
        (
            Kind::Rules,
            vec![
                (
                    "local.rules".to_owned(),
                    Role::Rules,
                    b"alert tcp any any -> any any (msg:\"x\"; content:\"abc\"; sid:1;)\n".to_vec(),
                ),
                (
                    "vars.conf".to_owned(),
                    Role::Vars,
                    b"HOME_NET=[10.0.0.0/8]\n".to_vec(),
                ),
            ],
        ),
        (
            Kind::Ioc,
            vec![("ioc.jsonl".to_owned(), Role::Ioc, jsonl.into_bytes())],
        ),
    ];
    for (kind, files) in sets {
        if let Ok(mut raw) = assemble(&params(kind), files, &limits) {
            seeds.push(raw.to_bytes());
            if key.sign(&mut raw).is_ok() {
                seeds.push(raw.to_bytes());
            }
        }
    }
    seeds
}

/// The built-in seeds of target `name` (none for an unknown name).
pub fn builtin(name: &str) -> Vec<Vec<u8>> {
    let session = http_session();
    let dns_frames = vec![
        udp_frame(true, &dns_query()),
        udp_frame(false, &dns_response()),
    ];
    match name {
        "capture" => vec![
            pcap(&session),
            pcapng(&session),
            gzip(&pcap(&dns_frames)),
            pcap(&[]),
        ],
        "wire" => {
            let mut seeds: Vec<Vec<u8>> = session
                .iter()
                .chain(&dns_frames)
                .map(|f| [&[0u8][..], f].concat())
                .collect();
            // Raw IPv4 (link 3) and raw IPv6.
            if let Some(f) = session.get(3) {
                seeds.push([&[3u8][..], f.get(14..).unwrap_or(&[])].concat());
            }
            seeds.push([&[3u8][..], &ipv6_udp(&dns_query())].concat());
            // An 802.1Q tag around IPv4/UDP.
            if let Some(f) = dns_frames.first() {
                let mut v = vec![0u8];
                v.extend_from_slice(f.get(..12).unwrap_or(&[]));
                v.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
                v.extend_from_slice(f.get(12..).unwrap_or(&[]));
                seeds.push(v);
            }
            seeds
        }
        "defrag" => vec![
            // memcap, trackers, timeout, frags, policy; then fragments: op, pair, offset,
            // flags, payload length, payload.
            [
                &[0x10, 0x00, 4, 5, 16, 2][..],
                &[0x00, 0x01, 0, 1, 0x01, 16],
                &[0xaa; 16],
                &[0x00, 0x01, 0, 0, 0x00, 8],
                &[0xbb; 8],
            ]
            .concat(),
            [
                &[0x01, 0x00, 2, 5, 8, 0][..],
                &[0x01, 0x02, 0, 0, 0x01, 16],
                &[0xcc; 16],
                &[0x01, 0x02, 0, 2, 0x00, 8],
                &[0xdd; 8],
                &[0xff],
            ]
            .concat(),
        ],
        "flow" => vec![
            vec![0, 3, 5, 2, 8, 0x00, 0, 0x00, 0x02, 1, 0, 0, 0, 0, 0, 10],
            vec![
                1, 3, 5, 2, 4, 0x00, 0, 0x00, 0x02, 1, 0, 0xff, 0xff, 0, 0, 0x20, 4, 0x01, 0x12, 2,
                2, 0xff, 0xff, 0, 0, 0x40, 0, 0x00, 0x10, 2, 3, 0xff, 0xff, 0, 0, 0x1f,
            ],
        ],
        "stream" => vec![[
            &[
                2u8, 0x08, 0x00, 0x04, 0x00, 8, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0,
            ][..],
            &[0x08, 0, 8, 0, 0, 0],
            &[0x4a, 0, 8, 0, 9, 0],
            &[0x40, 0, 9, 0, 9, 5],
            b"hello",
            &[0x40, 0, 18, 0, 9, 5],
            b"world",
            &[0x40, 0, 14, 0, 9, 4],
            b"o, w",
            &[0x42, 0, 9, 0, 23, 3],
            b"hi!",
            &[0x44, 0, 23, 0, 12, 0],
            &[0xfc],
        ]
        .concat()],
        "http" | "http-split" => vec![
            pieces(&[0], &[(0, HTTP_REQUEST), (1, HTTP_RESPONSE)]),
            pieces(
                &[1, 64, 4, 32, 32, 2, 0, 64, 8],
                &[
                    (0, b"POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"),
                    (6, &[]),
                    (1, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
                ],
            ),
        ],
        "dns" => vec![
            [&[0u8][..], &dns_query()].concat(),
            [&[8u8][..], &dns_response()].concat(),
        ],
        "mqtt" => {
            let connect = b"\x10\x15\x00\x04MQTT\x05\xc2\x00\x3c\x00\x00\x02id\x00\x01u\x00\x01p";
            let connack = b"\x20\x03\x00\x00\x00";
            let publish = b"\x32\x0c\x00\x01t\x00\x01\x03\x23\x00\x05msg";
            let puback = b"\x40\x04\x00\x01\x10\x00";
            let subscribe = b"\x82\x07\x00\x02\x00\x00\x01a\x01";
            let suback = b"\x90\x04\x00\x02\x00\x01";
            vec![
                pieces(
                    &[0],
                    &[
                        (0, connect),
                        (1, connack),
                        (0, publish),
                        (1, puback),
                        (0, subscribe),
                        (1, suback),
                        (0, b"\xc0\x00\xe0\x00"),
                    ],
                ),
                pieces(&[0x31, 8], &[(0, &connect[..5]), (0, &connect[5..]), (1, connack)]),
            ]
        }
        "tls" => vec![
            pieces(&[0], &[(0, &client_hello()), (1, &server_hello())]),
            pieces(
                &[0],
                &[(0, &client_hello()[..20]), (0, &client_hello()[20..])],
            ),
        ],
        "datasets" => vec![
            b"\x00Y3VybC83LjQzLjA=\nL3RhdGE=\n\n# c\n".to_vec(),
            b"\x00Z29vZ2xlLmNvbQ==,300\nYmxhaA==,1\n".to_vec(),
            b"\x01d41d8cd98f00b204e9800998ecf8427e\n".to_vec(),
            b"\x04::1\n10.0.0.1\n192.168.0.13/24,1,0\n4.4.4.4,10,100\n2001:db8::/32,2,5\n".to_vec(),
        ],
        "rules_parse" => vec![
            [
                r#"alert http $HOME_NET any -> $EXTERNAL_NET [80,8000:8080,!8001] (msg:"a \"b\" \;"; flow:established,to_server; http.uri; content:"/x|41 42|"; nocase; fast_pattern; content:"y"; distance:0; within:5; pcre:"/a+b/Ui"; bsize:<100; classtype:trojan-activity; sid:1; rev:2; metadata:a b, c d;)"#,
                "# alert tcp any any -> any any (sid:2;)",
                r#"alert tcp any any -> any any (content:"a"; byte_extract:2,0,len,relative; byte_test:2,>,len,0,relative; isdataat:!1,relative; \"#,
                "  flowbits:set,x; threshold: type limit, track by_src, count 1, seconds 60; sid:3;)",
                r#"alert dns any any -> any any (dns.query; dotprefix; content:".evil"; endswith; sid:4;)"#,
            ]
            .join("\n")
            .into_bytes(),
            [
                "config classification: a,Thing,2",
                "suppress gen_id 1, sig_id 2, track by_src, ip [10.0.0.0/8,$HOME_NET]",
                "rate_filter gen_id 1, sig_id 1, track by_rule, count 1, seconds 1, new_action drop, timeout 5",
            ]
            .join("\n")
            .into_bytes(),
        ],
        "bundle" => bundle_seeds(),
        "pipeline" => vec![
            frame_list(0, &session),
            frame_list(0, &dns_frames),
            pcap(&session),
        ],
        _ => Vec::new(),
    }
}
