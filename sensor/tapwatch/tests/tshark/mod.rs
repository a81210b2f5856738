//! What tshark and tapwatch each report about one capture, reduced to comparable sets.

pub mod captures;

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;

/// What a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A TCP or UDP conversation: `PROTO a:port b:port`, endpoints in ascending order.
    Conv,
    /// A DNS query name (requests and responses).
    Dns,
    /// An HTTP request: `host url`, the host without its port.
    Http,
    /// A TLS ClientHello's server name (over TCP).
    Sni,
}

/// Which tool saw a value the other did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Tshark,
    Tapwatch,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Tshark => "only tshark",
            Side::Tapwatch => "only tapwatch",
        })
    }
}

/// Everything one tool reported about one capture.
pub type Observed = BTreeSet<(Kind, String)>;

/// A direction-independent conversation key.
fn conversation(proto: &str, a: SocketAddr, b: SocketAddr) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("{proto} {lo} {hi}")
}

/// Fields asked of tshark, in this order.
const FIELDS: &[&str] = &[
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "dns.qry.name",
    "http.request",
    "http.host",
    "http.request.uri",
    "tls.handshake.extensions_server_name",
];

/// Separates the occurrences of one field (URIs may hold `,` and `|`).
const AGGREGATOR: char = '\u{1f}';

/// Protocols tapwatch does not decode and tshark would otherwise follow into the inner
/// traffic: GTP-U/GTP' (UDP 2152/3386) and AYIYA (UDP 5072). Both sides then see the outer
/// UDP conversation.
const TSHARK_DISABLED: &[&str] = &["gtp", "gtpprime", "ayiya"];

/// Link and network layers: a transport layer followed by one of these is a tunnel's.
const TUNNEL_INNER: &[&str] = &["eth", "ip", "ipv6", "arp", "ppp", "mpls", "vlan"];

/// Whether `tshark` can be run.
pub fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs tshark over `capture` and collects what it dissected.
pub fn tshark(capture: &Path) -> Result<Observed, String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(capture).args(["-T", "fields"]);
    cmd.args(["-E", "separator=/t", "-E", "occurrence=a"]);
    cmd.arg("-E").arg(format!("aggregator={AGGREGATOR}"));
    for p in TSHARK_DISABLED {
        cmd.args(["--disable-protocol", p]);
    }
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().map_err(|e| format!("tshark: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tshark exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut seen = Observed::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let col = |name: &str| {
            FIELDS
                .iter()
                .position(|f| *f == name)
                .and_then(|i| cols.get(i))
                .copied()
                .unwrap_or("")
        };
        let all = |name: &str| -> Vec<&str> {
            let v = col(name);
            if v.is_empty() {
                Vec::new()
            } else {
                v.split(AGGREGATOR).collect()
            }
        };
        let protocols: Vec<&str> = col("frame.protocols").split(':').collect();
        for name in all("dns.qry.name") {
            seen.insert((Kind::Dns, dns_name(name)));
        }
        if !col("http.request").is_empty() {
            let (hosts, uris) = (all("http.host"), all("http.request.uri"));
            for (i, uri) in uris.iter().enumerate() {
                // Hosts pair with URIs when every request had one; a lone request takes
                // the only host; otherwise the pairing is unknown and shows as `?`.
                let host = if hosts.len() == uris.len() {
                    hosts.get(i).copied().unwrap_or("")
                } else if uris.len() == 1 {
                    hosts.first().copied().unwrap_or("")
                } else {
                    "?"
                };
                seen.insert((Kind::Http, format!("{} {uri}", strip_port(host))));
            }
        }
        if protocols.contains(&"tcp") {
            for sni in all("tls.handshake.extensions_server_name") {
                seen.insert((Kind::Sni, sni.to_string()));
            }
        }
        if let Some(conv) = innermost_conversation(&protocols, &all) {
            seen.insert((Kind::Conv, conv));
        }
    }
    Ok(seen)
}

/// The packet's innermost TCP/UDP conversation as tshark dissected it; `None` for ICMP
/// errors (their quoted headers are no conversation), for tunnels whose inner packet is
/// not TCP/UDP, and for packets without ports.
fn innermost_conversation<'a>(
    protocols: &[&str],
    all: &dyn Fn(&str) -> Vec<&'a str>,
) -> Option<String> {
    if protocols.iter().any(|p| *p == "icmp" || *p == "icmpv6") {
        return None;
    }
    let at = protocols.iter().rposition(|p| *p == "tcp" || *p == "udp")?;
    if protocols[at + 1..].iter().any(|p| TUNNEL_INNER.contains(p)) {
        return None;
    }
    let transport = protocols[at];
    let ip = *protocols[..at]
        .iter()
        .rev()
        .find(|p| **p == "ip" || **p == "ipv6")?;
    let last = |field: String| all(&field).last().map(|s| s.to_string());
    let addr = |field: String| last(field)?.parse::<IpAddr>().ok();
    let port = |field: String| last(field)?.parse::<u16>().ok();
    let src = SocketAddr::new(
        addr(format!("{ip}.src"))?,
        port(format!("{transport}.srcport"))?,
    );
    let dst = SocketAddr::new(
        addr(format!("{ip}.dst"))?,
        port(format!("{transport}.dstport"))?,
    );
    Some(conversation(&transport.to_uppercase(), src, dst))
}

/// tshark writes the root name as `<Root>`; EVE as an empty string.
fn dns_name(name: &str) -> String {
    if name == "<Root>" {
        String::new()
    } else {
        name.to_string()
    }
}

/// EVE's `hostname` is the Host header without its port.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

/// Replays `capture` through tapwatch and collects its EVE records' values.
pub fn tapwatch(binary: &Path, capture: &Path) -> Result<Observed, String> {
    let out = Command::new(binary)
        .args(["replay", "--progress", "never", "--eve", "-"])
        .arg(capture)
        .output()
        .map_err(|e| format!("tapwatch: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tapwatch exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut seen = Observed::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let record: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("EVE line {line:?}: {e}"))?;
        let str_at = |path: &str| record.pointer(path).and_then(|v| v.as_str());
        match str_at("/event_type") {
            Some("flow") => {
                if let Some(conv) = eve_conversation(&record) {
                    seen.insert((Kind::Conv, conv));
                }
            }
            // mDNS (port 5353) messages are `mdns` records with the same `queries`.
            Some(et @ ("dns" | "mdns")) => {
                let queries = record
                    .pointer(&format!("/{et}/queries"))
                    .and_then(|q| q.as_array());
                for q in queries.into_iter().flatten() {
                    if let Some(name) = q.get("rrname").and_then(|n| n.as_str()) {
                        seen.insert((Kind::Dns, name.to_string()));
                    }
                }
            }
            Some("http") => {
                let host = str_at("/http/hostname").unwrap_or("");
                let url = str_at("/http/url").unwrap_or("");
                seen.insert((Kind::Http, format!("{host} {url}")));
            }
            Some("tls") => {
                if let Some(sni) = str_at("/tls/sni") {
                    seen.insert((Kind::Sni, sni.to_string()));
                }
            }
            _ => {}
        }
    }
    Ok(seen)
}

fn eve_conversation(record: &serde_json::Value) -> Option<String> {
    let proto = record.get("proto")?.as_str()?;
    if proto != "TCP" && proto != "UDP" {
        return None;
    }
    let endpoint = |ip: &str, port: &str| {
        let ip = record.get(ip)?.as_str()?.parse::<IpAddr>().ok()?;
        let port = u16::try_from(record.get(port)?.as_u64()?).ok()?;
        Some(SocketAddr::new(ip, port))
    };
    Some(conversation(
        proto,
        endpoint("src_ip", "src_port")?,
        endpoint("dest_ip", "dest_port")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports_are_stripped() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("host:"), "host:");
    }

    #[test]
    fn conversations_are_direction_independent() {
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:1234".parse().unwrap();
        assert_eq!(conversation("TCP", a, b), conversation("TCP", b, a));
        assert_eq!(
            conversation("TCP", a, b),
            "TCP 10.0.0.1:80 [2001:db8::1]:1234"
        );
    }

    #[test]
    fn tunnel_and_icmp_packets_have_no_outer_conversation() {
        let fields = |name: &str| -> Vec<&'static str> {
            match name {
                "ip.src" => vec!["192.0.2.1", "10.0.0.1"],
                "ip.dst" => vec!["192.0.2.2", "10.0.0.2"],
                "udp.srcport" => vec!["5000", "53"],
                "udp.dstport" => vec!["4789", "6000"],
                _ => vec![],
            }
        };
        let inner = "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp:dns";
        let p: Vec<&str> = inner.split(':').collect();
        assert_eq!(
            innermost_conversation(&p, &fields).as_deref(),
            Some("UDP 10.0.0.1:53 10.0.0.2:6000")
        );
        let arp: Vec<&str> = "eth:ethertype:ip:udp:vxlan:eth:ethertype:arp"
            .split(':')
            .collect();
        assert_eq!(innermost_conversation(&arp, &fields), None);
        let icmp: Vec<&str> = "eth:ethertype:ip:icmp:ip:udp".split(':').collect();
        assert_eq!(innermost_conversation(&icmp, &fields), None);
    }
}
