//! Timestamps as microseconds since the Unix epoch, and their EVE / RFC 3339 text forms.
//!
//! Written by hand (civil-date arithmetic) to keep the protocol crate free of a date library.

use tapwatch_common::civil::{civil_from_days, days_from_civil};

/// Formats µs since the epoch as EVE does: `2023-11-14T22:13:20.125000+0000` (UTC).
pub fn format_timestamp_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}+0000",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Formats µs since the epoch as RFC 3339 UTC with microseconds (`...Z`), for STIX and APIs.
pub fn format_rfc3339_us(us: i64) -> String {
    let mut s = format_timestamp_us(us);
    s.truncate(s.len() - "+0000".len());
    s.push('Z');
    s
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an EVE or RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.frac]` followed by `Z`, `+HHMM`
/// or `+HH:MM`; a space may replace the `T`) into µs since the epoch. Fractions beyond
/// microseconds are truncated.
pub fn parse_timestamp_us(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 20 || !s.is_char_boundary(19) {
        return None;
    }
    let (dt, rest) = s.split_at(19);
    let b = dt.as_bytes();
    if b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(&dt[0..4])?, num(&dt[5..7])?, num(&dt[8..10])?);
    let (h, mi, se) = (num(&dt[11..13])?, num(&dt[14..16])?, num(&dt[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let (frac_us, zone) = if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        if end == 0 {
            return None;
        }
        let digits = &r[..end];
        let mut us = 0i64;
        for (i, c) in digits.bytes().take(6).enumerate() {
            us += i64::from(c - b'0') * 10i64.pow(5 - i as u32);
        }
        (us, &r[end..])
    } else {
        (0, rest)
    };
    let offset_s = match zone {
        "Z" | "z" => 0,
        z if z.len() == 5 || z.len() == 6 => {
            let sign = match z.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hhmm = z[1..].replace(':', "");
            if hhmm.len() != 4 {
                return None;
            }
            let (oh, om) = (num(&hhmm[0..2])?, num(&hhmm[2..4])?);
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    secs.checked_mul(1_000_000)?.checked_add(frac_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_timestamps_round_trip() {
        for s in [
            "2023-11-14T22:13:20.125000+0000",
            "1970-01-01T00:00:00.000000+0000",
            "2000-02-29T23:59:59.999999+0000",
            "1969-12-31T23:59:59.500000+0000",
        ] {
            let us = parse_timestamp_us(s).expect(s);
            assert_eq!(format_timestamp_us(us), s);
        }
        assert_eq!(
            parse_timestamp_us("2023-11-14T22:13:20.125000+0000"),
            Some(1_700_000_000_125_000)
        );
    }

    #[test]
    fn offsets_and_rfc3339() {
        let a = parse_timestamp_us("2023-11-14T23:13:20.125+01:00");
        let b = parse_timestamp_us("2023-11-14T22:13:20.125Z");
        assert_eq!(a, b);
        assert_eq!(
            format_rfc3339_us(b.unwrap_or(0)),
            "2023-11-14T22:13:20.125000Z"
        );
        assert_eq!(
            parse_timestamp_us("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000_000)
        );
        for bad in [
            "",
            "2023-13-01T00:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+1",
        ] {
            assert_eq!(parse_timestamp_us(bad), None, "{bad}");
        }
    }
}
