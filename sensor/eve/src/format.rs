//! Value formats of EVE: timestamps, addresses, protocol names.

use std::fmt::Write as _;
use std::net::IpAddr;

use tapwatch_common::Timestamp;

/// Formats a timestamp as Suricata does: `2022-11-18T12:39:03.298992+0000` (UTC, microseconds).
pub fn format_timestamp(ts: Timestamp, out: &mut String) {
    let days = ts.secs.div_euclid(86_400);
    let secs_of_day = ts.secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+0000",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60,
        ts.micros()
    );
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
///
/// Works in 400-year eras (146,097 days each), in which the calendar repeats exactly; the
/// year is taken to start on 1 March so that the leap day falls at the end of it.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01, the start of an era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 = March ... 11 = February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is in 1..=12 and day in 1..=31 by construction.
    (year, month as u32, day as u32)
}

/// Formats an address as Suricata does: IPv4 dotted, IPv6 as eight zero-padded groups
/// (`2003:00de:2016:0125:fc36:8317:4e86:cb72`), never compressed.
pub fn format_ip(ip: IpAddr, out: &mut String) {
    match ip {
        IpAddr::V4(v4) => {
            let _ = write!(out, "{v4}");
        }
        IpAddr::V6(v6) => {
            for (i, seg) in v6.segments().iter().enumerate() {
                if i > 0 {
                    out.push(':');
                }
                let _ = write!(out, "{seg:04x}");
            }
        }
    }
}

/// The protocol name EVE shows for an IP protocol number (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`,
/// ...); unknown numbers as their decimal value.
pub fn protocol_name(proto: u8) -> std::borrow::Cow<'static, str> {
    let name = match proto {
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPV6",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "IPv6-ICMP",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        other => return std::borrow::Cow::Owned(other.to_string()),
    };
    std::borrow::Cow::Borrowed(name)
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
    fn protocol_names() {
        assert_eq!(protocol_name(6), "TCP");
        assert_eq!(protocol_name(58), "IPv6-ICMP");
        assert_eq!(protocol_name(253), "253");
    }
}
