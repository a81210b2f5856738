//! Protocol detection by content, with the port as a hint for the order of the probes.

use tapwatch_common::{Direction, Probe};

use crate::probes;
use crate::AppConfig;

pub use tapwatch_common::AppProto;

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

/// The TCP protocols, in the order probed when the port suggests none. MQTT's CONNECT probe
/// comes before DNS's, whose length-prefixed form a CONNECT could otherwise pass for.
const TCP_PROTOS: [AppProto; 9] = [
    AppProto::Http,
    AppProto::Tls,
    AppProto::Mqtt,
    AppProto::Dns,
    AppProto::Ssh,
    AppProto::Smb,
    AppProto::Dcerpc,
    AppProto::Ftp,
    AppProto::Smtp,
];

/// The probe order for a stream: the protocol the port suggests first, then the others.
pub(crate) fn tcp_probe_order(cfg: &AppConfig, server_port: u16) -> [AppProto; 9] {
    let first = match server_port {
        p if cfg.mqtt.enabled && cfg.mqtt.detection_ports.contains(&p) => AppProto::Mqtt,
        443 | 465 | 636 | 853 | 993 | 995 | 8443 => AppProto::Tls,
        53 => AppProto::Dns,
        22 => AppProto::Ssh,
        139 | 445 => AppProto::Smb,
        135 => AppProto::Dcerpc,
        21 => AppProto::Ftp,
        25 | 587 => AppProto::Smtp,
        _ => AppProto::Http,
    };
    let mut order = TCP_PROTOS;
    if let Some(i) = order.iter().position(|&p| p == first) {
        order[..=i].rotate_right(1);
    }
    order
}

/// Asks one probe about the first bytes of a TCP stream. The server port lets the FTP and
/// SMTP probes decide on a server's greeting (which both protocols share) on their own port,
/// and MQTT's accept any well-formed packet on its detection ports (a CONNECT elsewhere).
pub(crate) fn probe_tcp(
    cfg: &AppConfig,
    proto: AppProto,
    server_port: u16,
    dir: Direction,
    data: &[u8],
) -> Probe {
    match proto {
        AppProto::Mqtt if !cfg.mqtt.enabled => Probe::NoMatch,
        AppProto::Mqtt if cfg.mqtt.detection_ports.contains(&server_port) => {
            tapwatch_mqtt::probe_on_port(dir, data)
        }
        AppProto::Mqtt => tapwatch_mqtt::probe(dir, data),
        AppProto::Http => tapwatch_http::probe(dir, data),
        AppProto::Tls => tapwatch_tls::probe(dir, data),
        AppProto::Dns => tapwatch_dns::probe_tcp(dir, data),
        AppProto::Ssh => tapwatch_ssh::probe(dir, data),
        AppProto::Smb => tapwatch_smb::probe(dir, data),
        AppProto::Dcerpc => probes::dcerpc(data),
        AppProto::Ftp => probes::ftp(server_port, dir, data),
        AppProto::Smtp => probes::smtp(server_port, dir, data),
        // mDNS is UDP only; the other protocols are not detected by tapwatch.
        _ => Probe::NoMatch,
    }
}

/// Whether the first bytes of the other direction of a flow detected as `proto` agree with
/// it. Like [`probe_tcp`], except that FTP and SMTP servers agree with any reply line and
/// MQTT's other side with any well-formed packet.
pub(crate) fn confirm_tcp(cfg: &AppConfig, proto: AppProto, dir: Direction, data: &[u8]) -> Probe {
    match (proto, dir) {
        (AppProto::Ftp | AppProto::Smtp, Direction::ToClient) => probes::reply_line(data),
        (AppProto::Mqtt, _) => tapwatch_mqtt::probe_on_port(dir, data),
        _ => probe_tcp(cfg, proto, 0, dir, data),
    }
}

/// Runs the probes in order over one direction's first bytes.
///
/// `Match` from any probe wins; otherwise `NeedMore` if any probe could still match.
pub(crate) fn detect_tcp(
    cfg: &AppConfig,
    order: &[AppProto],
    server_port: u16,
    dir: Direction,
    data: &[u8],
) -> DetectStep {
    let mut need_more = false;
    for &proto in order {
        match probe_tcp(cfg, proto, server_port, dir, data) {
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

/// Whether the first bytes of a stream are a protocol tapwatch recognises but does not
/// detect: a SIP response (`SIP/2.0 `). On the other side of a flow detected as HTTP or TLS,
/// such data makes the two directions mismatch rather than leaving one direction
/// unrecognised.
pub(crate) fn probe_foreign(dir: Direction, data: &[u8]) -> Probe {
    let signatures: &[&[u8]] = match dir {
        Direction::ToServer => &[],
        Direction::ToClient => &[b"SIP/2.0 "],
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

    fn cfg() -> AppConfig {
        AppConfig::default()
    }

    #[test]
    fn port_changes_only_the_order() {
        assert_eq!(tcp_probe_order(&cfg(), 443)[0], AppProto::Tls);
        assert_eq!(tcp_probe_order(&cfg(), 8080)[0], AppProto::Http);
        // HTTP on the TLS port is still HTTP.
        let step = detect_tcp(
            &cfg(),
            &tcp_probe_order(&cfg(), 443),
            443,
            Direction::ToServer,
            b"GET / HTTP/1.1\r\n",
        );
        assert_eq!(step, DetectStep::Found(AppProto::Http));
        // TLS on the HTTP port is still TLS.
        let hello = [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00];
        assert_eq!(
            detect_tcp(
                &cfg(),
                &tcp_probe_order(&cfg(), 80),
                80,
                Direction::ToServer,
                &hello
            ),
            DetectStep::Found(AppProto::Tls)
        );
        assert_eq!(
            detect_tcp(
                &cfg(),
                &tcp_probe_order(&cfg(), 80),
                80,
                Direction::ToServer,
                b"\x00\x01garbage that is nothing"
            ),
            DetectStep::NoMatch
        );
    }

    #[test]
    fn foreign_banners() {
        let c = Direction::ToClient;
        assert_eq!(probe_foreign(c, b"SIP/2.0 200 OK\r\n"), Probe::Match);
        assert_eq!(probe_foreign(c, b"SI"), Probe::NeedMore);
        assert_eq!(probe_foreign(c, b"HTTP/1.1 200 OK"), Probe::NoMatch);
        // A SIP response line is only looked for towards the client.
        assert_eq!(
            probe_foreign(Direction::ToServer, b"SIP/2.0 200 OK"),
            Probe::NoMatch
        );
    }

    #[test]
    fn new_protocols_by_content_on_any_port() {
        let s = Direction::ToServer;
        let c = Direction::ToClient;
        let found = |port: u16, dir, data: &[u8]| {
            detect_tcp(&cfg(), &tcp_probe_order(&cfg(), port), port, dir, data)
        };
        assert_eq!(tcp_probe_order(&cfg(), 22)[0], AppProto::Ssh);
        assert_eq!(
            tcp_probe_order(&cfg(), 445)[..3],
            [AppProto::Smb, AppProto::Http, AppProto::Tls]
        );
        assert_eq!(tcp_probe_order(&cfg(), 80), TCP_PROTOS);
        assert_eq!(
            found(2222, c, b"SSH-2.0-OpenSSH_9\r\n"),
            DetectStep::Found(AppProto::Ssh)
        );
        let mut smb = b"\x00\x00\x00\x60\xfeSMB".to_vec();
        smb.resize(0x64, 0);
        assert_eq!(found(8080, s, &smb), DetectStep::Found(AppProto::Smb));
        assert_eq!(
            found(443, s, b"USER admin\r\n"),
            DetectStep::Found(AppProto::Ftp)
        );
        assert_eq!(
            found(2525, s, b"EHLO me\r\n"),
            DetectStep::Found(AppProto::Smtp)
        );
        assert_eq!(
            found(21, c, b"220 ready\r\n"),
            DetectStep::Found(AppProto::Ftp)
        );
        assert_eq!(
            found(25, c, b"220 ready\r\n"),
            DetectStep::Found(AppProto::Smtp)
        );
        // Elsewhere a greeting waits for the client.
        assert_eq!(found(443, c, b"220-FileZilla\r\n"), DetectStep::NeedMore);
        let bind = [5, 0, 11, 3, 0x10, 0, 0, 0, 0x74, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(found(49154, s, &bind), DetectStep::Found(AppProto::Dcerpc));
        // HTTP and TLS stay what they were.
        assert_eq!(
            found(445, s, b"GET / HTTP/1.1\r\n"),
            DetectStep::Found(AppProto::Http)
        );
        let hello = [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00];
        assert_eq!(found(22, s, &hello), DetectStep::Found(AppProto::Tls));
        assert_eq!(
            confirm_tcp(&cfg(), AppProto::Ftp, c, b"331 pw\r\n"),
            Probe::Match
        );
        assert_eq!(
            confirm_tcp(&cfg(), AppProto::Ssh, s, b"SSH-2.0-x\r\n"),
            Probe::Match
        );
        // MQTT: a CONNECT anywhere, any packet on its port.
        let connect = b"\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd";
        assert_eq!(found(8080, s, connect), DetectStep::Found(AppProto::Mqtt));
        assert_eq!(tcp_probe_order(&cfg(), 1883)[0], AppProto::Mqtt);
        assert_eq!(
            found(1883, c, b"\xd0\x00"),
            DetectStep::Found(AppProto::Mqtt)
        );
        assert_ne!(
            found(8080, c, b"\xd0\x00"),
            DetectStep::Found(AppProto::Mqtt)
        );
        let off = AppConfig {
            mqtt: crate::MqttSettings {
                enabled: false,
                ..crate::MqttSettings::default()
            },
            ..AppConfig::default()
        };
        assert_eq!(
            detect_tcp(&off, &tcp_probe_order(&off, 1883), 1883, s, connect),
            DetectStep::NoMatch
        );
        for p in TCP_PROTOS {
            assert_eq!(p.name(), p.name().to_ascii_lowercase());
        }
    }
}
