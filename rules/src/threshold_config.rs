//! `threshold.config`: `suppress`, `threshold` / `event_filter` and `rate_filter` entries.
//!
//! `sig_id 0` applies an entry to every signature of its `gen_id`, and `gen_id 0` to every
//! generator, as in Suricata. `rate_filter` is recorded but changes nothing in tapwatch: its
//! `new_action` only matters to an inline (IPS) sensor, and tapwatch is passive, so alerts are
//! written with their rule's action as Suricata in IDS mode does.

use crate::config_error::{config_lines, ConfigError};
use crate::lower::{threshold_parts, track_of};
use crate::sets::resolve_addr;
use crate::signature::{AddressSet, Threshold, ThresholdKind, Track};
use crate::vars::Vars;

/// What a `suppress` entry with an address compares it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuppressTrack {
    /// `by_src`: the alert's source address.
    BySrc,
    /// `by_dst`: the destination address.
    ByDst,
    /// `by_either`: either address.
    ByEither,
}

/// `rate_filter`'s `new_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateFilterAction {
    /// `alert`
    Alert,
    /// `drop`
    Drop,
    /// `pass`
    Pass,
    /// `reject`
    Reject,
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThresholdEntry {
    /// `suppress gen_id G, sig_id S[, track T, ip ADDR]`: no alerts (for matching addresses).
    Suppress {
        /// Generator (0: any).
        gen_id: u32,
        /// Signature (0: any).
        sig_id: u32,
        /// With `ip`: which address is compared.
        track: Option<SuppressTrack>,
        /// Addresses whose alerts are suppressed; every alert when `None`.
        ip: Option<AddressSet>,
        /// Line in the file.
        line: u32,
    },
    /// `threshold ...` or `event_filter ...`: replaces the rule's own threshold.
    Threshold {
        /// Generator (0: any).
        gen_id: u32,
        /// Signature (0: any).
        sig_id: u32,
        /// The threshold.
        threshold: Threshold,
        /// Line in the file.
        line: u32,
    },
    /// `rate_filter ...` (recorded; no effect on a passive sensor).
    RateFilter {
        /// Generator (0: any).
        gen_id: u32,
        /// Signature (0: any).
        sig_id: u32,
        /// Track.
        track: Track,
        /// Matches within `seconds` before the action changes.
        count: u32,
        /// Window.
        seconds: u32,
        /// The action taken once the rate is exceeded.
        new_action: RateFilterAction,
        /// How long the new action lasts, in seconds.
        timeout: u32,
        /// Line in the file.
        line: u32,
    },
}

impl ThresholdEntry {
    /// (gen_id, sig_id) the entry applies to (0 = any).
    pub fn ids(&self) -> (u32, u32) {
        match self {
            Self::Suppress { gen_id, sig_id, .. }
            | Self::Threshold { gen_id, sig_id, .. }
            | Self::RateFilter { gen_id, sig_id, .. } => (*gen_id, *sig_id),
        }
    }

    /// Whether the entry applies to signature `gid:sid`.
    pub fn applies_to(&self, gid: u32, sid: u32) -> bool {
        let (g, s) = self.ids();
        (g == 0 || g == gid) && (s == 0 || s == sid)
    }
}

/// A parsed `threshold.config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThresholdConfig {
    /// Entries in file order.
    pub entries: Vec<ThresholdEntry>,
}

impl ThresholdConfig {
    /// Parses the file; every bad line is reported with its place. `vars` resolves `ip` values
    /// such as `$HOME_NET`.
    pub fn parse(file: &str, text: &str, vars: &Vars) -> Result<Self, Vec<ConfigError>> {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (line, column, body) in config_lines(text) {
            match parse_entry(&body, vars, line) {
                Ok(e) => entries.push(e),
                Err(message) => errors.push(ConfigError {
                    file: file.to_string(),
                    line,
                    column,
                    message,
                }),
            }
        }
        if errors.is_empty() {
            Ok(Self { entries })
        } else {
            Err(errors)
        }
    }
}

/// Splits on commas outside `[...]`.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(s.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or("").trim());
    out
}

fn id(val: &str, what: &str) -> Result<u32, String> {
    val.parse()
        .map_err(|_| format!("invalid {what} '{val}' (expected a number)"))
}

fn parse_entry(body: &str, vars: &Vars, line: u32) -> Result<ThresholdEntry, String> {
    let (kind, rest) = body
        .split_once(char::is_whitespace)
        .ok_or("expected 'suppress', 'threshold', 'event_filter' or 'rate_filter' and options")?;
    let parts = split_top(rest.trim());
    let (mut gen_id, mut sig_id) = (None, None);
    let mut others = Vec::new();
    for p in &parts {
        let (k, v) = p
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .ok_or_else(|| format!("invalid option '{p}' (expected 'name value')"))?;
        match k {
            "gen_id" => gen_id = Some(id(v, "gen_id")?),
            "sig_id" => sig_id = Some(id(v, "sig_id")?),
            _ => others.push((k, v, *p)),
        }
    }
    let gen_id = gen_id.ok_or("missing 'gen_id'")?;
    let sig_id = sig_id.ok_or("missing 'sig_id'")?;
    match kind {
        "suppress" => {
            let (mut track, mut ip) = (None, None);
            for (k, v, p) in others {
                match k {
                    "track" => {
                        track = Some(match v {
                            "by_src" => SuppressTrack::BySrc,
                            "by_dst" => SuppressTrack::ByDst,
                            "by_either" => SuppressTrack::ByEither,
                            t => return Err(format!("invalid suppress track '{t}'")),
                        })
                    }
                    "ip" => {
                        let e = crate::parse::parse_addr_text(v)
                            .map_err(|m| format!("invalid ip '{v}': {m}"))?;
                        ip = Some(resolve_addr(&e, vars).map_err(|m| format!("ip '{v}': {m}"))?);
                    }
                    _ => return Err(format!("invalid suppress option '{p}'")),
                }
            }
            if track.is_some() != ip.is_some() {
                return Err("suppress needs both 'track' and 'ip', or neither".into());
            }
            Ok(ThresholdEntry::Suppress {
                gen_id,
                sig_id,
                track,
                ip,
                line,
            })
        }
        "threshold" | "event_filter" => {
            let joined: Vec<&str> = others.iter().map(|(_, _, p)| *p).collect();
            let (k, track, count, seconds) = threshold_parts(&joined.join(","), true)?;
            Ok(ThresholdEntry::Threshold {
                gen_id,
                sig_id,
                threshold: Threshold {
                    kind: k.unwrap_or(ThresholdKind::Limit),
                    track,
                    count,
                    seconds,
                },
                line,
            })
        }
        "rate_filter" => {
            let (mut track, mut count, mut seconds, mut action, mut timeout) =
                (None, None, None, None, None);
            for (k, v, p) in others {
                match k {
                    "track" => track = Some(track_of(v)?),
                    "count" => count = Some(id(v, "count")?),
                    "seconds" => seconds = Some(id(v, "seconds")?),
                    "timeout" => timeout = Some(id(v, "timeout")?),
                    "new_action" => {
                        action = Some(match v {
                            "alert" => RateFilterAction::Alert,
                            "drop" => RateFilterAction::Drop,
                            "pass" => RateFilterAction::Pass,
                            "reject" => RateFilterAction::Reject,
                            a => return Err(format!("invalid new_action '{a}'")),
                        })
                    }
                    _ => return Err(format!("invalid rate_filter option '{p}'")),
                }
            }
            Ok(ThresholdEntry::RateFilter {
                gen_id,
                sig_id,
                track: track.ok_or("missing 'track'")?,
                count: count.ok_or("missing 'count'")?,
                seconds: seconds.ok_or("missing 'seconds'")?,
                new_action: action.ok_or("missing 'new_action'")?,
                timeout: timeout.ok_or("missing 'timeout'")?,
                line,
            })
        }
        k => Err(format!(
            "unknown entry '{k}' (expected suppress, threshold, event_filter or rate_filter)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_kind() {
        let text = "\
# comment
suppress gen_id 1, sig_id 2200003
suppress gen_id 1, sig_id 2013028, track by_src, ip [10.0.0.0/8,192.168.1.1]
suppress gen_id 0, sig_id 0, track by_either, ip $HOME_NET
threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60
event_filter gen_id 1, sig_id 11, type both, track by_dst, count 5, seconds 30
rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, new_action drop, timeout 30
";
        let c = ThresholdConfig::parse("t.config", text, &Vars::suricata_defaults()).unwrap();
        assert_eq!(c.entries.len(), 6);
        match &c.entries[1] {
            ThresholdEntry::Suppress {
                track, ip, line, ..
            } => {
                assert_eq!(*track, Some(SuppressTrack::BySrc));
                assert!(ip.as_ref().unwrap().contains("10.1.2.3".parse().unwrap()));
                assert_eq!(*line, 3);
            }
            e => panic!("{e:?}"),
        }
        assert!(c.entries[2].applies_to(7, 9));
        assert!(c.entries[3].applies_to(1, 10) && !c.entries[3].applies_to(1, 11));
        match &c.entries[4] {
            ThresholdEntry::Threshold { threshold, .. } => {
                assert_eq!(threshold.kind, ThresholdKind::Both);
                assert_eq!(threshold.track, Track::ByDst);
            }
            e => panic!("{e:?}"),
        }
        assert!(matches!(
            c.entries[5],
            ThresholdEntry::RateFilter {
                new_action: RateFilterAction::Drop,
                timeout: 30,
                ..
            }
        ));
    }

    #[test]
    fn errors_are_located() {
        let text = "suppress gen_id 1\nthreshold gen_id 1, sig_id 2, type limit, track by_src, count 1\n  bogus gen_id 1, sig_id 1\nsuppress gen_id 1, sig_id 2, track by_src\nsuppress gen_id 1, sig_id 2, track by_src, ip $NOPE\n";
        let errs =
            ThresholdConfig::parse("t.config", text, &Vars::suricata_defaults()).unwrap_err();
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(errs[0].message.contains("sig_id"));
        assert!(errs[1].message.contains("seconds"));
        assert_eq!((errs[2].line, errs[2].column), (3, 3));
        assert!(errs[4].message.contains("undefined variable $NOPE"));
        assert_eq!(errs[4].to_string().split(':').next(), Some("t.config"));
    }
}
