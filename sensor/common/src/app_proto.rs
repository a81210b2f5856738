//! Application-layer protocols, by Suricata's names.

use std::fmt;

/// Declares [`AppProto`] from one table of variants, Suricata names and whether tapwatch
/// detects the protocol, so that the list, the names and the split can never disagree.
macro_rules! app_protos {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $parsed:literal;)*) => {
        /// An application-layer protocol Suricata 8 knows, by its name in rule headers,
        /// `app-layer-protocol:` and EVE's `app_proto`.
        ///
        /// Only some are detected by tapwatch ([`AppProto::is_detected`]); the others exist
        /// so that a rule for a protocol Suricata knows but tapwatch does not detect can be
        /// told apart from a rule naming a protocol nobody knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AppProto {
            $($(#[$doc])* $variant,)*
        }

        impl AppProto {
            /// Every protocol, in declaration order (the detected ones first).
            pub const ALL: &'static [AppProto] = &[$(AppProto::$variant,)*];

            /// Suricata's name (`http`, `tls`, `ftp-data`, ...), as EVE writes it in
            /// `app_proto`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(AppProto::$variant => $name,)*
                }
            }

            /// Whether tapwatch detects (and, for most, parses) the protocol: flows of the
            /// others never carry it, so a rule that needs it could never match.
            pub const fn is_detected(self) -> bool {
                match self {
                    $(AppProto::$variant => $parsed,)*
                }
            }
        }
    };
}

app_protos! {
    /// HTTP/1.x (`http`; `http1` is accepted as an alias).
    Http => "http", true;
    /// TLS and SSL 3.
    Tls => "tls", true;
    /// DNS over UDP or TCP.
    Dns => "dns", true;
    /// Multicast DNS: its own protocol, as in Suricata 8.
    Mdns => "mdns", true;
    /// SSH.
    Ssh => "ssh", true;
    /// SMB1 and SMB2/3.
    Smb => "smb", true;
    /// FTP control connections (detected only).
    Ftp => "ftp", true;
    /// SMTP (detected only).
    Smtp => "smtp", true;
    /// DCERPC over TCP (detected only).
    Dcerpc => "dcerpc", true;
    /// MQTT.
    Mqtt => "mqtt", true;
    /// HTTP/2.
    Http2 => "http2", false;
    /// FTP data connections.
    FtpData => "ftp-data", false;
    /// DHCP.
    Dhcp => "dhcp", false;
    /// Kerberos 5.
    Krb5 => "krb5", false;
    /// NFS (`nfs3` is accepted as an alias).
    Nfs => "nfs", false;
    /// NTP.
    Ntp => "ntp", false;
    /// TFTP.
    Tftp => "tftp", false;
    /// IKE (`ikev2` is accepted as an alias).
    Ike => "ike", false;
    /// SNMP.
    Snmp => "snmp", false;
    /// SIP.
    Sip => "sip", false;
    /// RFB (VNC).
    Rfb => "rfb", false;
    /// PostgreSQL.
    Pgsql => "pgsql", false;
    /// Modbus.
    Modbus => "modbus", false;
    /// DNP3.
    Dnp3 => "dnp3", false;
    /// EtherNet/IP.
    Enip => "enip", false;
    /// QUIC.
    Quic => "quic", false;
    /// RDP.
    Rdp => "rdp", false;
    /// Telnet.
    Telnet => "telnet", false;
    /// IMAP.
    Imap => "imap", false;
    /// POP3.
    Pop3 => "pop3", false;
    /// BitTorrent DHT.
    BittorrentDht => "bittorrent-dht", false;
    /// WebSocket.
    Websocket => "websocket", false;
    /// LDAP.
    Ldap => "ldap", false;
    /// DNS over HTTP/2.
    Doh2 => "doh2", false;
    /// Suricata's template parser.
    Template => "template", false;
}

impl AppProto {
    /// The protocol with this name, as rules write it: Suricata's names, lower case, and the
    /// aliases Suricata accepts (`http1` for `http`, `ikev2` for `ike`, `nfs3` for `nfs`).
    /// `None` for a name Suricata does not know.
    pub fn from_name(name: &str) -> Option<AppProto> {
        match name {
            "http1" => return Some(AppProto::Http),
            "ikev2" => return Some(AppProto::Ike),
            "nfs3" => return Some(AppProto::Nfs),
            _ => {}
        }
        AppProto::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// The protocols tapwatch detects.
    pub fn detected() -> impl Iterator<Item = AppProto> {
        AppProto::ALL.iter().copied().filter(|p| p.is_detected())
    }
}

impl fmt::Display for AppProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for &p in AppProto::ALL {
            assert_eq!(AppProto::from_name(p.name()), Some(p), "{p}");
        }
        for (i, a) in AppProto::ALL.iter().enumerate() {
            for b in &AppProto::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn aliases_and_unknown_names() {
        assert_eq!(AppProto::from_name("http1"), Some(AppProto::Http));
        assert_eq!(AppProto::from_name("ikev2"), Some(AppProto::Ike));
        assert_eq!(AppProto::from_name("nfs3"), Some(AppProto::Nfs));
        assert_eq!(AppProto::from_name("HTTP"), None);
        assert_eq!(AppProto::from_name("gopher"), None);
        assert_eq!(AppProto::from_name(""), None);
    }

    #[test]
    fn detected_protocols_are_tapwatchs() {
        let names: Vec<_> = AppProto::detected().map(AppProto::name).collect();
        assert_eq!(
            names,
            ["http", "tls", "dns", "mdns", "ssh", "smb", "ftp", "smtp", "dcerpc", "mqtt"]
        );
        assert!(!AppProto::Http2.is_detected());
    }
}
