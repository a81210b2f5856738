//! Timestamps in bundles: whole seconds since the Unix epoch, written as RFC 3339 in UTC
//! (`2026-12-08T03:00:00Z`).

use std::fmt;

use tapwatch_common::civil::{civil_from_days, days_from_civil};

/// Whole seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Timestamp {
    /// The current time (the system clock).
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self(secs)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds are cut; `+00:00` may stand for `Z`;
    /// a space may stand for `T`) or a date alone, `YYYY-MM-DD` (midnight UTC). Years 1970 to
    /// 9999. Other offsets are refused: bundles are written in UTC.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let s = b.get(r)?;
            if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || d < 1 {
            return None;
        }
        if d > days_in_month(y, mo) {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        if b.len() == 10 {
            return Some(Self(days * 86_400));
        }
        if !matches!(b.get(10), Some(b'T' | b't' | b' '))
            || b.get(13) != Some(&b':')
            || b.get(16) != Some(&b':')
        {
            return None;
        }
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut rest = &text[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            rest = &frac[digits..];
        }
        if !matches!(rest, "Z" | "z" | "+00:00") {
            return None;
        }
        Some(Self(days * 86_400 + h * 3600 + mi * 60 + s.min(59)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid time {s:?}: expected RFC 3339 in UTC, such as \"2026-12-08T03:00:00Z\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses() {
        for (text, secs) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2026-12-08T03:14:41Z", 1_796_699_681),
            ("2000-02-29T23:59:59Z", 951_868_799),
        ] {
            let t = Timestamp::parse(text).expect(text);
            assert_eq!(t.0, secs, "{text}");
            assert_eq!(t.to_string(), text);
        }
        assert_eq!(
            Timestamp::parse("2026-12-08").unwrap().to_string(),
            "2026-12-08T00:00:00Z"
        );
        assert_eq!(
            Timestamp::parse("2026-12-08T03:14:41.123+00:00")
                .unwrap()
                .to_string(),
            "2026-12-08T03:14:41Z"
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026-12-08T03:14:41+07:00",
            "2026-12-08T24:00:00Z",
            "1969-12-31T00:00:00Z",
            "2026-1-08",
            "2026-12-08T03:14:41",
            "2026-12-08x",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
