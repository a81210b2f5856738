//! Protocol detection by content, with the port as a hint for the order of the probes.

use tapwatch_common::{Direction, Probe};

/// An application protocol tapwatch parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProto {
    /// HTTP/1.x.
    Http,
    /// TLS (and SSL 3).
    Tls,
    /// DNS over TCP or UDP.
    Dns,
    /// Multicast DNS: DNS messages on a UDP flow with port 5353 on either side.
    Mdns,
}

impl AppProto {
    /// The name EVE uses in `app_proto`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tls => "tls",
            Self::Dns => "dns",
            Self::Mdns => "mdns",
        }
    }
}

/// What detection concluded for a flow so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectOutcome {
    /// Not enough data yet.
    Pending,
    /// The protocol is known.
    Detected(AppProto),
    /// No parser recognised the data (EVE shows `failed`).
    Failed,
}

/// The probe order for a stream: the protocol the port suggests first, then the others.
pub(crate) fn tcp_probe_order(server_port: u16) -> [AppProto; 3] {
    match server_port {
        443 | 465 | 636 | 853 | 993 | 995 | 8443 => [AppProto::Tls, AppProto::Http, AppProto::Dns],
        53 => [AppProto::Dns, AppProto::Tls, AppProto::Http],
        _ => [AppProto::Http, AppProto::Tls, AppProto::Dns],
    }
}

/// Asks one probe about the first bytes of a TCP stream.
pub(crate) fn probe_tcp(proto: AppProto, dir: Direction, data: &[u8]) -> Probe {
    match proto {
        AppProto::Http => tapwatch_http::probe(dir, data),
        AppProto::Tls => tapwatch_tls::probe(dir, data),
        AppProto::Dns => tapwatch_dns::probe_tcp(dir, data),
        // mDNS is UDP only.
        AppProto::Mdns => Probe::NoMatch,
    }
}

/// Runs the probes in order over one direction's first bytes.
///
/// `Match` from any probe wins; otherwise `NeedMore` if any probe could still match.
pub(crate) fn detect_tcp(order: &[AppProto], dir: Direction, data: &[u8]) -> DetectStep {
    let mut need_more = false;
    for &proto in order {
        match probe_tcp(proto, dir, data) {
            Probe::Match => return DetectStep::Found(proto),
            Probe::NeedMore => need_more = true,
            Probe::NoMatch => {}
        }
    }
    if need_more {
        DetectStep::NeedMore
    } else {
        DetectStep::NoMatch
    }
}

/// Whether the first bytes of a stream are a protocol tapwatch recognises but does not parse:
/// an SSH identification string (`SSH-`) or a SIP response (`SIP/2.0 `). On the other side of
/// a flow detected as HTTP or TLS, such data makes the two directions mismatch rather than
/// leaving one direction unrecognised.
pub(crate) fn probe_foreign(dir: Direction, data: &[u8]) -> Probe {
    let signatures: &[&[u8]] = match dir {
        Direction::ToServer => &[b"SSH-"],
        Direction::ToClient => &[b"SSH-", b"SIP/2.0 "],
    };
    let mut need_more = false;
    for sig in signatures {
        if data.starts_with(sig) {
            return Probe::Match;
        }
        need_more |= data.len() < sig.len() && sig.starts_with(data);
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// The answer of all probes over one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DetectStep {
    Found(AppProto),
    NeedMore,
    NoMatch,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_changes_only_the_order() {
        assert_eq!(tcp_probe_order(443)[0], AppProto::Tls);
        assert_eq!(tcp_probe_order(8080)[0], AppProto::Http);
        // HTTP on the TLS port is still HTTP.
        let step = detect_tcp(
            &tcp_probe_order(443),
            Direction::ToServer,
            b"GET / HTTP/1.1\r\n",
        );
        assert_eq!(step, DetectStep::Found(AppProto::Http));
        // TLS on the HTTP port is still TLS.
        let hello = [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00];
        assert_eq!(
            detect_tcp(&tcp_probe_order(80), Direction::ToServer, &hello),
            DetectStep::Found(AppProto::Tls)
        );
        assert_eq!(
            detect_tcp(
                &tcp_probe_order(80),
                Direction::ToServer,
                b"\x00\x01garbage that is nothing"
            ),
            DetectStep::NoMatch
        );
    }

    #[test]
    fn foreign_banners() {
        let c = Direction::ToClient;
        assert_eq!(probe_foreign(c, b"SSH-2.0-OpenSSH_8.7\r\n"), Probe::Match);
        assert_eq!(probe_foreign(c, b"SIP/2.0 200 OK\r\n"), Probe::Match);
        assert_eq!(probe_foreign(c, b"SS"), Probe::NeedMore);
        assert_eq!(probe_foreign(c, b"HTTP/1.1 200 OK"), Probe::NoMatch);
        // A SIP response line is only looked for towards the client.
        assert_eq!(
            probe_foreign(Direction::ToServer, b"SIP/2.0 200 OK"),
            Probe::NoMatch
        );
    }
}
