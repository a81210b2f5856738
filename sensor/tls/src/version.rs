//! Protocol version numbers and their names.

/// SSL 2.0, as written in SSLv2-compatible ClientHellos.
pub const SSL_2_0: u16 = 0x0002;
/// SSL 3.0.
pub const SSL_3_0: u16 = 0x0300;
/// TLS 1.0.
pub const TLS_1_0: u16 = 0x0301;
/// TLS 1.1.
pub const TLS_1_1: u16 = 0x0302;
/// TLS 1.2.
pub const TLS_1_2: u16 = 0x0303;
/// TLS 1.3.
pub const TLS_1_3: u16 = 0x0304;

/// Whether `v` is a GREASE value (RFC 8701): `0x?A?A` with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Whether `v` is TLS 1.3 or one of its drafts (IETF `0x7fNN`, Facebook `0xfb17`/`0xfb1a`).
pub fn is_tls13(v: u16) -> bool {
    v == TLS_1_3 || v >> 8 == 0x7f || v == 0xfb17 || v == 0xfb1a
}

/// The version as Suricata writes it in EVE `tls.version`: `"TLS 1.2"`, `"TLSv1"`, `"SSLv3"`,
/// `"TLS 1.3 draft-23"`, `"UNDETERMINED"` for 0, the decimal number for anything else.
pub fn version_name(v: u16) -> String {
    let fixed = match v {
        0 => "UNDETERMINED",
        SSL_2_0 => "SSLv2",
        SSL_3_0 => "SSLv3",
        TLS_1_0 => "TLSv1",
        TLS_1_1 => "TLS 1.1",
        TLS_1_2 => "TLS 1.2",
        TLS_1_3 => "TLS 1.3",
        0xfb17 => "TLS 1.3 draft-23-fb",
        0xfb1a => "TLS 1.3 draft-26-fb",
        0x7f00..=0x7f0f => "TLS 1.3 draft-<16",
        0x7f10..=0x7f1c => return format!("TLS 1.3 draft-{}", v & 0xff),
        _ => return v.to_string(),
    };
    fixed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_suricata() {
        assert_eq!(version_name(0x0303), "TLS 1.2");
        assert_eq!(version_name(0x0301), "TLSv1");
        assert_eq!(version_name(0x0302), "TLS 1.1");
        assert_eq!(version_name(0x0300), "SSLv3");
        assert_eq!(version_name(0x0002), "SSLv2");
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0x7f12), "TLS 1.3 draft-18");
        assert_eq!(version_name(0x7f17), "TLS 1.3 draft-23");
        assert_eq!(version_name(0x7f0e), "TLS 1.3 draft-<16");
        assert_eq!(version_name(0xfb1a), "TLS 1.3 draft-26-fb");
        assert_eq!(version_name(0x3230), "12848");
        assert_eq!(version_name(0x7e01), "32257");
        assert_eq!(version_name(0), "UNDETERMINED");
    }

    #[test]
    fn grease() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
        assert!(is_tls13(0x7f1c) && is_tls13(0x0304) && !is_tls13(0x0303));
    }
}
