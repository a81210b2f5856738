//! Recognising TLS from the first bytes of a stream.

use tapwatch_common::{Direction, Probe};

use crate::record::{content_type, valid_record_version, MAX_RECORD_LEN};

/// Whether `data`, the first bytes of a stream in direction `dir`, is TLS.
///
/// A handshake record header (type 22, version 3.0 to 3.4) matches on its first three bytes;
/// change_cipher_spec, alert and application_data headers need all five bytes and a plausible
/// length. To the server, an SSLv2-compatible CLIENT-HELLO also matches.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    let Some(&first) = data.first() else {
        return Probe::NeedMore;
    };
    if first & 0x80 != 0 && dir == Direction::ToServer {
        return probe_sslv2(data);
    }
    let strong = match first {
        content_type::HANDSHAKE => true,
        content_type::CHANGE_CIPHER_SPEC | content_type::ALERT | content_type::APPLICATION_DATA => {
            false
        }
        _ => return Probe::NoMatch,
    };
    let (Some(&major), Some(&minor)) = (data.get(1), data.get(2)) else {
        return if data.len() >= 2 && data.get(1) != Some(&3) {
            Probe::NoMatch
        } else {
            Probe::NeedMore
        };
    };
    if !valid_record_version(u16::from_be_bytes([major, minor])) {
        return Probe::NoMatch;
    }
    let (Some(&hi), Some(&lo)) = (data.get(3), data.get(4)) else {
        return if strong {
            Probe::Match
        } else {
            Probe::NeedMore
        };
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    let plausible = match first {
        content_type::CHANGE_CIPHER_SPEC => len == 1,
        content_type::ALERT => len >= 2,
        _ => len > 0,
    };
    if plausible && len <= MAX_RECORD_LEN {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// An SSLv2 two-byte header followed by CLIENT-HELLO (1) and an SSL 2.0 to TLS 1.3 version.
fn probe_sslv2(data: &[u8]) -> Probe {
    let ([b0, b1, msg, major, minor], true) = (sslv2_head(data), data.len() >= 5) else {
        return if data.get(2).is_some_and(|&m| m != 1) {
            Probe::NoMatch
        } else {
            Probe::NeedMore
        };
    };
    let len = usize::from(u16::from_be_bytes([b0 & 0x7f, b1]));
    let version = u16::from_be_bytes([major, minor]);
    if msg == 1 && len >= 9 && (version == crate::version::SSL_2_0 || valid_record_version(version))
    {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

fn sslv2_head(data: &[u8]) -> [u8; 5] {
    let mut head = [0u8; 5];
    for (dst, src) in head.iter_mut().zip(data) {
        *dst = *src;
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Direction = Direction::ToServer;
    const C: Direction = Direction::ToClient;

    #[test]
    fn handshake_header() {
        assert_eq!(probe(S, &[]), Probe::NeedMore);
        assert_eq!(probe(S, &[0x16]), Probe::NeedMore);
        assert_eq!(probe(S, &[0x16, 3]), Probe::NeedMore);
        assert_eq!(probe(S, &[0x16, 4]), Probe::NoMatch);
        assert_eq!(probe(S, &[0x16, 3, 1]), Probe::Match);
        assert_eq!(probe(C, &[0x16, 3, 3, 0, 80, 2]), Probe::Match);
        assert_eq!(probe(S, &[0x16, 3, 5]), Probe::NoMatch);
        assert_eq!(probe(S, &[0x16, 3, 1, 0xff, 0xff]), Probe::NoMatch);
        assert_eq!(probe(S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    }

    #[test]
    fn weaker_headers_need_five_bytes() {
        assert_eq!(probe(C, &[0x17, 3, 3]), Probe::NeedMore);
        assert_eq!(probe(C, &[0x17, 3, 3, 0, 0x20]), Probe::Match);
        assert_eq!(probe(C, &[0x17, 3, 3, 0, 0]), Probe::NoMatch);
        assert_eq!(probe(C, &[0x14, 3, 3, 0, 1]), Probe::Match);
        assert_eq!(probe(C, &[0x14, 3, 3, 0, 2]), Probe::NoMatch);
        assert_eq!(probe(C, &[0x15, 3, 1, 0, 2]), Probe::Match);
        assert_eq!(probe(C, &[0x15, 3, 1, 0, 1]), Probe::NoMatch);
    }

    #[test]
    fn sslv2_client_hello() {
        let hello = [0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15];
        assert_eq!(probe(S, &hello), Probe::Match);
        assert_eq!(probe(S, &hello[..4]), Probe::NeedMore);
        assert_eq!(probe(C, &hello), Probe::NoMatch);
        assert_eq!(probe(S, &[0x80, 0x2e, 0x02, 3, 1]), Probe::NoMatch);
        assert_eq!(probe(S, &[0x80, 0x2e, 0x02]), Probe::NoMatch);
        assert_eq!(probe(S, &[0x80, 0x2e, 0x01, 0x09, 0x01]), Probe::NoMatch);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..16), to_server: bool) {
            let dir = if to_server { S } else { C };
            let _ = probe(dir, &data);
        }
    }
}
