//! Value formats of EVE: timestamps, addresses, protocol names.

use std::fmt::Write as _;
use std::net::IpAddr;

use tapwatch_common::Timestamp;

/// Formats a timestamp as Suricata does: `2022-11-18T12:39:03.298992+0000` (UTC, microseconds).
pub fn format_timestamp(ts: Timestamp, out: &mut String) {
    match TimestampText::of(ts) {
        TimestampText::Fixed(buf) => out.extend(buf.iter().map(|&b| char::from(b))),
        TimestampText::Other(s) => out.push_str(&s),
    }
}

/// Appends `ts` in EVE's timestamp format to `out` (the allocation-free form of
/// [`format_timestamp`]).
pub(crate) fn push_timestamp(out: &mut Vec<u8>, ts: Timestamp) {
    match TimestampText::of(ts) {
        TimestampText::Fixed(buf) => out.extend_from_slice(&buf),
        TimestampText::Other(s) => out.extend_from_slice(s.as_bytes()),
    }
}

/// Length of a timestamp whose year has four digits: `2022-11-18T12:39:03.298992+0000`.
const TIMESTAMP_LEN: usize = 31;

/// A formatted timestamp: on the stack for years 0 to 9999, the only ones real captures
/// carry, and through `std::fmt` otherwise.
pub(crate) enum TimestampText {
    /// ASCII text of exactly [`TIMESTAMP_LEN`] bytes.
    Fixed([u8; TIMESTAMP_LEN]),
    /// Years outside 0..=9999.
    Other(String),
}

impl TimestampText {
    /// Formats `ts`.
    pub(crate) fn of(ts: Timestamp) -> Self {
        let days = ts.secs.div_euclid(86_400);
        let secs_of_day = ts.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let Ok(year4 @ 0..=9999) = u32::try_from(year) else {
            let mut s = String::with_capacity(40);
            let _ = write!(
                s,
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+0000",
                secs_of_day / 3600,
                (secs_of_day / 60) % 60,
                secs_of_day % 60,
                ts.micros()
            );
            return Self::Other(s);
        };
        // secs_of_day is in 0..86_400, so these casts are lossless.
        let sod = secs_of_day as u32;
        let mut buf = *b"0000-00-00T00:00:00.000000+0000";
        put_digits(&mut buf[0..4], year4);
        put_digits(&mut buf[5..7], month);
        put_digits(&mut buf[8..10], day);
        put_digits(&mut buf[11..13], sod / 3600);
        put_digits(&mut buf[14..16], (sod / 60) % 60);
        put_digits(&mut buf[17..19], sod % 60);
        put_digits(&mut buf[20..26], ts.micros());
        Self::Fixed(buf)
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // The fixed form is ASCII digits and punctuation only.
            Self::Fixed(buf) => std::str::from_utf8(buf).unwrap_or(""),
            Self::Other(s) => s,
        }
    }
}

/// Writes `value` zero-padded into `dst` (its low digits if it does not fit).
fn put_digits(dst: &mut [u8], mut value: u32) {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Appends `value` as a JSON string (quoted, escaped as serde_json escapes it).
pub fn push_json_str(out: &mut Vec<u8>, value: &str) {
    // JSON escapes only '"', '\\' and control characters; anything else is copied as is.
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
}

/// Appends `,"key":` (the key is a name chosen by the caller that needs no escaping).
pub fn push_key(out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends the decimal digits of `value` to `out`, without allocating.
pub fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut buf = [0u8; 20];
    let mut len = 0;
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
        len += 1;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(buf.len() - len..).unwrap_or(&[]));
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The two lower-case hex digits of `b`.
pub(crate) fn hex_byte(b: u8) -> [u8; 2] {
    [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]
}

/// The date of a day count since 1970-01-01, with month and day as `u32`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let (year, month, day) = tapwatch_common::civil::civil_from_days(days);
    // Month is in 1..=12 and day in 1..=31 by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Formats an address as Suricata does: IPv4 dotted, IPv6 as eight zero-padded groups
/// (`2003:00de:2016:0125:fc36:8317:4e86:cb72`), never compressed.
pub fn format_ip(ip: IpAddr, out: &mut String) {
    let mut buf = Vec::with_capacity(39);
    push_ip(&mut buf, ip);
    out.extend(buf.iter().map(|&b| char::from(b)));
}

/// Appends `ip` in EVE's address format to `out` (the allocation-free form of [`format_ip`]).
pub(crate) fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u64(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            for (i, seg) in v6.segments().into_iter().enumerate() {
                if i > 0 {
                    out.push(b':');
                }
                let [hi, lo] = seg.to_be_bytes();
                out.extend_from_slice(&hex_byte(hi));
                out.extend_from_slice(&hex_byte(lo));
            }
        }
    }
}

/// The protocol name EVE shows for an IP protocol number (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`,
/// ...); unknown numbers as their decimal value.
pub fn protocol_name(proto: u8) -> std::borrow::Cow<'static, str> {
    match tapwatch_common::IpProto(proto).name() {
        Some(name) => std::borrow::Cow::Borrowed(name),
        None => std::borrow::Cow::Owned(proto.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ts(secs: i64, nanos: u32) -> String {
        let mut s = String::new();
        format_timestamp(Timestamp::new(secs, nanos), &mut s);
        s
    }

    #[test]
    fn timestamps_match_suricata_format() {
        assert_eq!(ts(0, 0), "1970-01-01T00:00:00.000000+0000");
        // 2022-11-18T12:39:03.298992 from a real Suricata record.
        assert_eq!(
            ts(1_668_775_143, 298_992_999),
            "2022-11-18T12:39:03.298992+0000"
        );
        // Leap day and the turn of a century that is a leap year.
        assert_eq!(ts(951_782_400, 0), "2000-02-29T00:00:00.000000+0000");
        assert_eq!(ts(1_709_164_799, 0), "2024-02-28T23:59:59.000000+0000");
        assert_eq!(ts(-1, 0), "1969-12-31T23:59:59.000000+0000");
    }

    #[test]
    fn ipv6_is_expanded_like_suricata() {
        let mut s = String::new();
        format_ip(
            IpAddr::V6(Ipv6Addr::new(
                0x2003, 0xde, 0x2016, 0x125, 0xfc36, 0x8317, 0x4e86, 0xcb72,
            )),
            &mut s,
        );
        assert_eq!(s, "2003:00de:2016:0125:fc36:8317:4e86:cb72");
        s.clear();
        format_ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), &mut s);
        assert_eq!(s, "10.0.0.1");
    }

    #[test]
    fn timestamps_outside_four_digit_years_use_the_general_form() {
        // Year 10000 and a year before 0 still format, as std::fmt writes them.
        assert_eq!(ts(253_402_300_800, 0), "10000-01-01T00:00:00.000000+0000");
        let before_year_0 = ts(-62_200_000_000, 0);
        assert!(before_year_0.starts_with("-00"), "{before_year_0}");
        assert!(before_year_0.ends_with("+0000"), "{before_year_0}");
    }

    #[test]
    fn byte_writers_match_std_formatting() {
        for n in [0u64, 7, 10, 99, 100, 65_535, 1 << 32, u64::MAX] {
            let mut v = Vec::new();
            push_u64(&mut v, n);
            assert_eq!(v, n.to_string().into_bytes());
        }
        for b in [0u8, 0x0f, 0x1b, 0xa0, 0xff] {
            assert_eq!(hex_byte(b).to_vec(), format!("{b:02x}").into_bytes());
        }
        let mut v = Vec::new();
        push_ip(&mut v, IpAddr::V4(Ipv4Addr::new(192, 168, 0, 255)));
        assert_eq!(v, b"192.168.0.255");
        for secs in [0i64, 59, 86_399, 951_782_400, 1_700_000_000, 4_102_444_799] {
            let t = Timestamp::new(secs, 123_456_789);
            let mut v = Vec::new();
            push_timestamp(&mut v, t);
            assert_eq!(v, ts(secs, 123_456_789).into_bytes());
            assert_eq!(TimestampText::of(t).as_str(), ts(secs, 123_456_789));
        }
    }

    #[test]
    fn protocol_names() {
        assert_eq!(protocol_name(6), "TCP");
        assert_eq!(protocol_name(58), "IPv6-ICMP");
        assert_eq!(protocol_name(253), "253");
    }
}
