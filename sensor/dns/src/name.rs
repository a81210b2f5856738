//! Domain-name decoding with compression pointers (RFC 1035 section 4.1.4).
//!
//! Names are decoded into raw bytes: labels joined by `.`, the root name empty, label bytes
//! kept as they are (a `.` or a non-ASCII byte inside a label is not escaped here; the EVE
//! writer escapes for display). Decoding is bounded three ways: the decoded length (longer
//! names are cut and flagged), the number of labels, and the number of pointers followed
//! (a loop of pointers is cut and flagged). A name cut for length is still walked to count
//! its labels and pointers. None of these stop the message from parsing, which matches how
//! Suricata reports such names and still logs the record.

use crate::anomaly::{AnomalySet, DnsAnomaly};
use crate::error::DnsError;

/// Most labels followed in one name before it is cut (a wire name has at most 127).
pub(crate) const MAX_LABELS: usize = 255;
/// Most compression pointers followed in one name before it is treated as a loop.
pub(crate) const MAX_POINTERS: usize = 128;

/// Decodes the name starting at `start` in `msg` into `out` (cleared first), keeping at
/// most `max_len` bytes. Returns the offset just after the name's bytes at `start` (after
/// its terminating zero or its first pointer).
pub(crate) fn parse_name(
    msg: &[u8],
    start: usize,
    max_len: usize,
    out: &mut Vec<u8>,
    anomalies: &mut AnomalySet,
) -> Result<usize, DnsError> {
    out.clear();
    let mut pos = start;
    // Where the name ends in the message, known at the first pointer or the final zero.
    let mut end: Option<usize> = None;
    let mut labels = 0usize;
    let mut pointers = 0usize;
    // Set once the output is cut; the walk goes on to count labels and pointers.
    let mut full = false;
    // Set once the label limit is hit; the rest is walked only to find `end`.
    let mut over = false;
    loop {
        let len_byte = *msg.get(pos).ok_or(DnsError::Truncated { offset: pos })?;
        match len_byte & 0xC0 {
            0x00 if len_byte == 0 => {
                return Ok(end.unwrap_or(pos + 1));
            }
            0x00 => {
                let len = usize::from(len_byte);
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(DnsError::Truncated { offset: pos + 1 })?;
                labels += 1;
                if labels > MAX_LABELS && !over {
                    anomalies.insert(DnsAnomaly::TooManyLabels);
                    over = true;
                }
                if !full && !over {
                    full = !append_label(out, label, max_len);
                    if full {
                        anomalies.insert(DnsAnomaly::NameTooLong);
                    }
                }
                pos += 1 + len;
                if let (true, Some(e)) = (over, end) {
                    // Inside a pointer: the wire end is known, stop walking.
                    return Ok(e);
                }
            }
            0xC0 => {
                let low = *msg
                    .get(pos + 1)
                    .ok_or(DnsError::Truncated { offset: pos + 1 })?;
                let target = (usize::from(len_byte & 0x3F) << 8) | usize::from(low);
                if target >= msg.len() {
                    return Err(DnsError::BadPointer { offset: pos });
                }
                let e = *end.get_or_insert(pos + 2);
                if over {
                    return Ok(e);
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    anomalies.insert(DnsAnomaly::InfiniteLoop);
                    return Ok(e);
                }
                pos = target;
            }
            _ => return Err(DnsError::BadLabelType { offset: pos }),
        }
    }
}

/// Appends `label` (after a `.` if `out` is not empty) keeping `out` within `max_len`.
/// Returns false if the label did not fit whole (the name is then cut at `max_len`).
fn append_label(out: &mut Vec<u8>, label: &[u8], max_len: usize) -> bool {
    let dot = usize::from(!out.is_empty());
    let room = max_len.saturating_sub(out.len());
    if dot + label.len() <= room {
        if dot == 1 {
            out.push(b'.');
        }
        out.extend_from_slice(label);
        return true;
    }
    if room > 0 && dot == 1 {
        out.push(b'.');
    }
    let take = room.saturating_sub(dot).min(label.len());
    out.extend_from_slice(label.get(..take).unwrap_or_default());
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(
        msg: &[u8],
        start: usize,
        max: usize,
    ) -> (Result<usize, DnsError>, Vec<u8>, AnomalySet) {
        let mut out = Vec::new();
        let mut an = AnomalySet::default();
        let r = parse_name(msg, start, max, &mut out, &mut an);
        (r, out, an)
    }

    #[test]
    fn plain_and_root() {
        let msg = b"\x03www\x07example\x03com\x00\x00";
        let (r, out, an) = name(msg, 0, 1025);
        assert_eq!(r, Ok(17));
        assert_eq!(out, b"www.example.com");
        assert_eq!(an, AnomalySet::default());
        let (r, out, _) = name(msg, 16, 1025);
        assert_eq!(r, Ok(17));
        assert!(out.is_empty());
    }

    #[test]
    fn backward_and_forward_pointers() {
        // 0: "example.com", 13: "www" + pointer to 0, 19: pointer forward to 21, 21: "a" + ptr 13.
        let msg = b"\x07example\x03com\x00\x03www\xc0\x00\xc0\x15\x01a\xc0\x0d";
        let (r, out, _) = name(msg, 13, 1025);
        assert_eq!(r, Ok(19));
        assert_eq!(out, b"www.example.com");
        let (r, out, _) = name(msg, 19, 1025);
        assert_eq!(r, Ok(21));
        assert_eq!(out, b"a.www.example.com");
    }

    #[test]
    fn pointer_loop_is_cut() {
        // A pointer to itself, and two pointers to each other with no labels.
        let (r, out, an) = name(b"\xc0\x00", 0, 1025);
        assert_eq!(r, Ok(2));
        assert!(out.is_empty());
        assert!(an.contains(DnsAnomaly::InfiniteLoop));
        let (r, _, an) = name(b"\xc0\x02\xc0\x00", 0, 1025);
        assert_eq!(r, Ok(2));
        assert!(an.contains(DnsAnomaly::InfiniteLoop));
    }

    #[test]
    fn label_loop_hits_pointer_label_and_length_limits() {
        // "ab" then a pointer back to the start: one label per pointer, so the pointer
        // limit stops it first.
        let (r, out, an) = name(b"\x02ab\xc0\x00", 0, 1025);
        assert_eq!(r, Ok(5));
        assert_eq!(out.len(), 129 * 3 - 1);
        assert!(an.contains(DnsAnomaly::InfiniteLoop));
        assert!(!an.contains(DnsAnomaly::TooManyLabels));
        // Two labels per pointer: the label limit comes first.
        let (r, out, an) = name(b"\x01a\x01b\xc0\x00", 0, 1025);
        assert_eq!(r, Ok(6));
        assert_eq!(out.len(), 255 * 2 - 1);
        assert!(an.contains(DnsAnomaly::TooManyLabels));
        assert!(!an.contains(DnsAnomaly::InfiniteLoop));
        assert!(!an.contains(DnsAnomaly::NameTooLong));
        // A cut name is still walked, so the loop is still found.
        let (r, out, an) = name(b"\x02ab\xc0\x00", 0, 10);
        assert_eq!(r, Ok(5));
        assert_eq!(out, b"ab.ab.ab.a");
        assert!(an.contains(DnsAnomaly::NameTooLong));
        assert!(an.contains(DnsAnomaly::InfiniteLoop));
    }

    #[test]
    fn long_label_loop_reports_length_and_labels() {
        // Three 63-byte labels, then a pointer back to the first: cut at 1025 bytes, then
        // walked on until the label limit.
        let mut msg = Vec::new();
        for _ in 0..3 {
            msg.push(63);
            msg.extend_from_slice(&[b'q'; 63]);
        }
        msg.extend_from_slice(b"\xc0\x00");
        let (r, out, an) = name(&msg, 0, 1025);
        assert_eq!(r, Ok(msg.len()));
        assert_eq!(out.len(), 1025);
        assert!(an.contains(DnsAnomaly::NameTooLong));
        assert!(an.contains(DnsAnomaly::TooManyLabels));
        assert!(!an.contains(DnsAnomaly::InfiniteLoop));
    }

    #[test]
    fn long_name_without_pointer_finds_its_end() {
        let mut msg = Vec::new();
        for _ in 0..20 {
            msg.push(63);
            msg.extend_from_slice(&[b'x'; 63]);
        }
        msg.push(0);
        let (r, out, an) = name(&msg, 0, 1025);
        assert_eq!(r, Ok(msg.len()));
        assert_eq!(out.len(), 1025);
        assert!(an.contains(DnsAnomaly::NameTooLong));
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(
            name(b"\x03ww", 0, 99).0,
            Err(DnsError::Truncated { offset: 1 })
        );
        assert_eq!(
            name(b"\x01a", 0, 99).0,
            Err(DnsError::Truncated { offset: 2 })
        );
        assert_eq!(
            name(b"\x01a\xc0", 0, 99).0,
            Err(DnsError::Truncated { offset: 3 })
        );
        assert_eq!(
            name(b"\x01a\xc0\x09", 0, 99).0,
            Err(DnsError::BadPointer { offset: 2 })
        );
        assert_eq!(
            name(b"\x41a", 0, 99).0,
            Err(DnsError::BadLabelType { offset: 0 })
        );
        assert_eq!(name(b"", 0, 99).0, Err(DnsError::Truncated { offset: 0 }));
    }

    #[test]
    fn cut_at_label_boundary_keeps_no_trailing_dot_overflow() {
        let (_, out, an) = name(b"\x03abc\x03def\x00", 0, 4);
        assert_eq!(out, b"abc.");
        assert!(an.contains(DnsAnomaly::NameTooLong));
        let (_, out, an) = name(b"\x03abc\x03def\x00", 0, 7);
        assert_eq!(out, b"abc.def");
        assert_eq!(an, AnomalySet::default());
    }
}
