//! Protocol probes: does a datagram or the start of a stream look like DNS?
//!
//! The probes accept a message whatever its QR bit and direction (a capture may start with
//! a response, and the pipeline may reverse a UDP flow whose first datagram is one); the
//! direction is accepted for symmetry with the other probes and does not change the answer.

use tapwatch_common::{Direction, Probe};

use crate::anomaly::AnomalySet;
use crate::config::DnsConfig;
use crate::error::DnsError;
use crate::message::{
    parse_message_with_anomalies, parse_question, parse_record, Header, FLAG_QR, HEADER_LEN,
};

/// Smallest wire size of a question (root name, type, class).
const MIN_QUESTION: usize = 5;
/// Smallest wire size of a resource record (root name, type, class, TTL, length).
const MIN_RECORD: usize = 11;

/// Probes one UDP payload: a plausible header (record counts that fit the datagram) and a
/// first question that parses; a response without questions (mDNS) needs a first answer
/// that parses instead. As the datagram is whole, its question and answer sections must
/// parse too, and every question's class must be one DNS defines: QUIC, DHCPv6 or NTP
/// datagrams whose first bytes happen to look like a header are turned away.
pub fn probe_udp(_dir: Direction, data: &[u8]) -> Probe {
    if data.len() < HEADER_LEN {
        return Probe::NoMatch;
    }
    match probe_message(data, data.len()) {
        Ok(true) if whole_message_plausible(data) => Probe::Match,
        Ok(_) | Err(_) => Probe::NoMatch,
    }
}

/// Question classes DNS defines (RFC 1035, RFC 2136), with mDNS's unicast-response bit
/// masked off: IN, CS, CH, HS, NONE and ANY.
fn known_class(class: u16) -> bool {
    matches!(class & 0x7FFF, 1..=4 | 254 | 255)
}

/// Whether the header, the questions and the answers of a whole message parse, with every
/// question of a known class.
fn whole_message_plausible(data: &[u8]) -> bool {
    let cfg = DnsConfig::default();
    let mut anomalies = AnomalySet::default();
    match parse_message_with_anomalies(data, &cfg, &mut anomalies) {
        Ok(msg) => msg.queries.iter().all(|q| known_class(q.rrclass)),
        Err(_) => false,
    }
}

/// Whether `data` at `pos` starts with a NetBIOS-encoded name (RFC 1002 §4.1): a first
/// label of exactly 32 letters from `A` to `P`. NetBIOS name service borrows DNS's layout
/// but is another protocol (Suricata does not log it as DNS either).
fn netbios_name_at(data: &[u8], pos: usize) -> bool {
    data.get(pos) == Some(&32)
        && data
            .get(pos + 1..pos + 33)
            .is_some_and(|l| l.iter().all(|b| (b'A'..=b'P').contains(b)))
}

/// Probes the start of a TCP stream: a 2-byte length prefix, then a message as
/// [`probe_udp`] wants it. Answers [`Probe::NeedMore`] while the prefix, the header or the
/// first question is incomplete.
pub fn probe_tcp(_dir: Direction, data: &[u8]) -> Probe {
    let Some((prefix, rest)) = data.split_first_chunk::<2>() else {
        return Probe::NeedMore;
    };
    let frame_len = usize::from(u16::from_be_bytes(*prefix));
    if frame_len < HEADER_LEN {
        return Probe::NoMatch;
    }
    let body = rest.get(..frame_len).unwrap_or(rest);
    if body.len() < HEADER_LEN {
        return Probe::NeedMore;
    }
    match probe_message(body, frame_len) {
        Ok(true) => Probe::Match,
        Ok(false) => Probe::NoMatch,
        // Only an incomplete frame can be waited on; a full one that ends early is not DNS.
        Err(DnsError::Truncated { .. }) if body.len() < frame_len => Probe::NeedMore,
        Err(_) => Probe::NoMatch,
    }
}

/// Checks the header of `data` (a message of `msg_len` bytes, of which `data` may be only
/// the start) and parses its first question or record.
fn probe_message(data: &[u8], msg_len: usize) -> Result<bool, DnsError> {
    let h = Header::parse(data)?;
    let records = usize::from(h.ancount) + usize::from(h.nscount) + usize::from(h.arcount);
    let min_len = HEADER_LEN + usize::from(h.qdcount) * MIN_QUESTION + records * MIN_RECORD;
    if min_len > msg_len {
        return Ok(false);
    }
    if netbios_name_at(data, HEADER_LEN) {
        return Ok(false);
    }
    let cfg = DnsConfig::default();
    let mut scratch = Vec::new();
    let mut anomalies = AnomalySet::default();
    if h.qdcount > 0 {
        parse_question(data, HEADER_LEN, &cfg, &mut scratch, &mut anomalies)?;
        return Ok(true);
    }
    if h.flags & FLAG_QR == 0 || h.ancount == 0 {
        return Ok(false);
    }
    parse_record(data, HEADER_LEN, &cfg, false, &mut scratch, &mut anomalies)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &[u8] = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01";

    fn tcp(msg: &[u8]) -> Vec<u8> {
        let mut v = u16::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
        v.extend_from_slice(msg);
        v
    }

    #[test]
    fn udp_query_matches() {
        assert_eq!(probe_udp(Direction::ToServer, QUERY), Probe::Match);
        assert_eq!(probe_udp(Direction::ToClient, QUERY), Probe::Match);
    }

    #[test]
    fn udp_rejects_short_and_implausible() {
        for n in 0..QUERY.len() {
            assert_eq!(
                probe_udp(Direction::ToServer, &QUERY[..n]),
                Probe::NoMatch,
                "len {n}"
            );
        }
        // No questions in a request.
        let mut m = QUERY.to_vec();
        m[5] = 0;
        assert_eq!(probe_udp(Direction::ToServer, &m), Probe::NoMatch);
        // Counts that cannot fit.
        let mut m = QUERY.to_vec();
        m[7] = 9;
        assert_eq!(probe_udp(Direction::ToServer, &m), Probe::NoMatch);
        // Random text.
        assert_eq!(
            probe_udp(Direction::ToServer, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn udp_rejects_lookalikes() {
        // A NetBIOS name service query (RFC 1002): DNS's layout, another protocol.
        let mut nb = b"\x81\x0d\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20".to_vec();
        nb.extend_from_slice(b"FHEPFCELEHFCEPFFFACACACACACACAAA\x00\x00\x20\x00\x01");
        assert_eq!(probe_udp(Direction::ToServer, &nb), Probe::NoMatch);
        // A question of a class DNS does not define.
        let mut m = QUERY.to_vec();
        let last = m.len() - 1;
        m[last] = 0x77;
        assert_eq!(probe_udp(Direction::ToServer, &m), Probe::NoMatch);
        // An answer section that does not parse.
        let mut m = QUERY.to_vec();
        m[7] = 1;
        m.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x10\x00\x04\x01");
        assert_eq!(probe_udp(Direction::ToServer, &m), Probe::NoMatch);
        m.extend_from_slice(b"\x02\x03\x04");
        assert_eq!(probe_udp(Direction::ToServer, &m), Probe::Match);
    }

    #[test]
    fn udp_mdns_announcement_without_questions() {
        let mut m = b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00".to_vec();
        m.extend_from_slice(
            b"\x01h\x05local\x00\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04\x0a\x00\x00\x01",
        );
        assert_eq!(probe_udp(Direction::ToServer, &m), Probe::Match);
        m[2] = 0x04; // not a response: no longer plausible
        assert_eq!(probe_udp(Direction::ToServer, &m), Probe::NoMatch);
    }

    #[test]
    fn tcp_needs_more_then_matches() {
        let framed = tcp(QUERY);
        for n in 0..framed.len() {
            assert_eq!(
                probe_tcp(Direction::ToServer, &framed[..n]),
                Probe::NeedMore,
                "len {n}"
            );
        }
        assert_eq!(probe_tcp(Direction::ToServer, &framed), Probe::Match);
        assert_eq!(
            probe_tcp(Direction::ToServer, b"\x00\x05hello"),
            Probe::NoMatch
        );
        assert_eq!(
            probe_tcp(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn tcp_frame_shorter_than_its_question_is_rejected() {
        let mut framed = tcp(&QUERY[..QUERY.len() - 2]);
        assert_eq!(probe_tcp(Direction::ToServer, &framed), Probe::NoMatch);
        framed.extend_from_slice(b"\x00\x01");
        assert_eq!(probe_tcp(Direction::ToServer, &framed), Probe::NoMatch);
    }
}
