//! The columns both stores index for an alert, taken once from its decoded message.
//!
//! A received batch is decoded in full (so a record that would not decode on a later query is
//! refused at the door), but into one reused [`Alert`]: after the first records its strings and
//! vectors keep their allocations. Only the indexed columns are kept, their text in one buffer
//! per batch, next to the record bytes as received; the storage thread then binds borrowed
//! slices and frees three allocations per batch instead of a dozen per alert.

use std::net::IpAddr;
use std::ops::Range;

use prost::Message as _;
use tapwatch_proto::batch::BatchError;
use tapwatch_proto::eve::ip_from_bytes;
use tapwatch_proto::v1::Alert;

/// One alert's indexed columns, borrowed from where they are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertColumns<'a> {
    /// µs since the epoch.
    pub timestamp_us: i64,
    /// Flow id.
    pub flow_id: u64,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Signature revision.
    pub rev: u32,
    /// Severity.
    pub severity: u32,
    /// Source port.
    pub src_port: u32,
    /// Destination port.
    pub dst_port: u32,
    /// The rule's message.
    pub signature: &'a str,
    /// Classification text.
    pub category: &'a str,
    /// Source address as text (empty when not 4 or 16 bytes).
    pub src_ip: &'a str,
    /// Destination address as text.
    pub dst_ip: &'a str,
    /// EVE protocol name.
    pub proto: &'a str,
    /// Application protocol.
    pub app_proto: &'a str,
    /// The alert's protobuf message bytes.
    pub record: &'a [u8],
}

/// Text columns of a row, in the order they are appended to [`EncodedAlerts`]' text buffer.
const TEXT_COLUMNS: usize = 6;

/// Where one alert's columns lie.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    timestamp_us: i64,
    flow_id: u64,
    gid: u32,
    sid: u32,
    rev: u32,
    severity: u32,
    src_port: u32,
    dst_port: u32,
    /// Start of the first text column in the text buffer, then the end of each.
    text: [usize; TEXT_COLUMNS + 1],
    /// The message bytes in the payload.
    record: Range<usize>,
}

/// A received alert batch: the decompressed payload and each alert's indexed columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedAlerts {
    plain: Vec<u8>,
    text: String,
    rows: Vec<Row>,
}

impl EncodedAlerts {
    /// Decodes the length-delimited alerts of `plain` (a decompressed batch payload), refusing
    /// more than `max_count` records or one that does not decode as an [`Alert`].
    pub fn decode(plain: Vec<u8>, max_count: usize) -> Result<Self, BatchError> {
        // One record per 16 bytes at most: room without regrowing, bounded by the payload.
        let mut rows = Vec::with_capacity(max_count.min(plain.len() / 16 + 1));
        let mut text = String::with_capacity(plain.len() / 4);
        let mut scratch = Alert::default();
        let mut rest = plain.as_slice();
        while !rest.is_empty() {
            if rows.len() >= max_count {
                return Err(BatchError::TooManyRecords { limit: max_count });
            }
            let index = rows.len();
            let len = prost::decode_length_delimiter(rest).unwrap_or(0);
            scratch.clear();
            scratch
                .merge_length_delimited(&mut rest)
                .map_err(|source| BatchError::Malformed { index, source })?;
            // The record decoded, so its `len` bytes end where `rest` now starts.
            let end = plain.len() - rest.len();
            rows.push(Row::of(&scratch, &mut text, end.saturating_sub(len)..end));
        }
        Ok(EncodedAlerts { plain, text, rows })
    }

    /// Number of alerts.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The columns of each alert, in order.
    pub fn columns(&self) -> impl Iterator<Item = AlertColumns<'_>> + '_ {
        self.rows.iter().map(|r| r.columns(&self.text, &self.plain))
    }

    /// The alerts decoded again from their stored bytes (tests and diagnostics).
    pub fn alerts(&self) -> Result<Vec<Alert>, prost::DecodeError> {
        self.columns().map(|c| Alert::decode(c.record)).collect()
    }
}

impl Row {
    /// The columns of `a`, its text appended to `text`.
    fn of(a: &Alert, text: &mut String, record: Range<usize>) -> Self {
        let mut bounds = [text.len(); TEXT_COLUMNS + 1];
        for (column, end) in bounds.iter_mut().skip(1).enumerate() {
            match column {
                0 => text.push_str(&a.signature),
                1 => text.push_str(&a.category),
                2 => push_ip_text(text, &a.src_ip),
                3 => push_ip_text(text, &a.dst_ip),
                4 => text.push_str(&a.proto),
                _ => text.push_str(&a.app_proto),
            }
            *end = text.len();
        }
        Row {
            timestamp_us: a.timestamp_us,
            flow_id: a.flow_id,
            gid: a.gid,
            sid: a.sid,
            rev: a.rev,
            severity: a.severity,
            src_port: a.src_port,
            dst_port: a.dst_port,
            text: bounds,
            record,
        }
    }

    /// The columns, borrowed from the `text` and `plain` buffers the row was made with.
    fn columns<'a>(&self, text: &'a str, plain: &'a [u8]) -> AlertColumns<'a> {
        let t = |i: usize| {
            self.text
                .get(i)
                .zip(self.text.get(i + 1))
                .and_then(|(&start, &end)| text.get(start..end))
                .unwrap_or("")
        };
        AlertColumns {
            timestamp_us: self.timestamp_us,
            flow_id: self.flow_id,
            gid: self.gid,
            sid: self.sid,
            rev: self.rev,
            severity: self.severity,
            src_port: self.src_port,
            dst_port: self.dst_port,
            signature: t(0),
            category: t(1),
            src_ip: t(2),
            dst_ip: t(3),
            proto: t(4),
            app_proto: t(5),
            record: plain.get(self.record.clone()).unwrap_or(&[]),
        }
    }
}

/// Calls `f` with the columns of each of `alerts` (encoded here; for callers holding decoded
/// alerts rather than received bytes).
pub fn for_each_columns<E>(
    alerts: &[Alert],
    mut f: impl FnMut(usize, &AlertColumns<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let (mut text, mut record) = (String::new(), Vec::new());
    for (i, a) in alerts.iter().enumerate() {
        text.clear();
        record.clear();
        // Encoding into a `Vec` cannot run out of room.
        let _ = a.encode(&mut record);
        let row = Row::of(a, &mut text, 0..record.len());
        f(i, &row.columns(&text, &record))?;
    }
    Ok(())
}

/// Appends the address of `b` as text (nothing when `b` is not 4 or 16 bytes). IPv4, by far
/// the most common, is written without the formatting machinery.
pub fn push_ip_text(out: &mut String, b: &[u8]) {
    match ip_from_bytes(b) {
        Some(IpAddr::V4(a)) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u8(out, o);
            }
        }
        Some(a @ IpAddr::V6(_)) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{a}");
        }
        None => {}
    }
}

/// Appends `v` in decimal.
fn push_u8(out: &mut String, v: u8) {
    if v >= 100 {
        out.push(char::from(b'0' + v / 100));
    }
    if v >= 10 {
        out.push(char::from(b'0' + v / 10 % 10));
    }
    out.push(char::from(b'0' + v % 10));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_proto::v1::{HttpFields, StringList};

    fn full(n: u8) -> Alert {
        Alert {
            timestamp_us: 1_700_000_000_000_000 + i64::from(n),
            flow_id: u64::MAX - u64::from(n),
            gid: 1,
            sid: 2_000_000 + u32::from(n),
            rev: 7,
            action: "allowed".into(),
            severity: 2,
            category: "A Network Trojan was detected".into(),
            signature: format!("ET TEST {n}"),
            src_ip: vec![10, 0, n, 255],
            dst_ip: vec![0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n],
            src_port: 40_000,
            dst_port: 443,
            proto: "TCP".into(),
            app_proto: "tls".into(),
            metadata: [(
                "tag".to_owned(),
                StringList {
                    values: vec!["x".into()],
                },
            )]
            .into(),
            http: Some(HttpFields {
                hostname: "example.org".into(),
                ..HttpFields::default()
            }),
            references: vec!["url,example.org".into()],
            ..Alert::default()
        }
    }

    fn payload(alerts: &[Alert]) -> Vec<u8> {
        let mut out = Vec::new();
        for a in alerts {
            a.encode_length_delimited(&mut out).expect("encode");
        }
        out
    }

    fn owned(c: &AlertColumns<'_>) -> (Vec<u64>, Vec<String>, Vec<u8>) {
        let nums = [
            c.timestamp_us as u64,
            c.flow_id,
            c.gid.into(),
            c.sid.into(),
            c.rev.into(),
            c.severity.into(),
            c.src_port.into(),
            c.dst_port.into(),
        ];
        let text = [
            c.signature,
            c.category,
            c.src_ip,
            c.dst_ip,
            c.proto,
            c.app_proto,
        ];
        (
            nums.to_vec(),
            text.iter().map(|s| s.to_string()).collect(),
            c.record.to_vec(),
        )
    }

    #[test]
    fn columns_equal_those_of_the_full_alerts() {
        // A full alert, then an empty one: nothing of the first may leak into the second
        // through the reused message.
        let alerts = vec![full(1), Alert::default(), full(200)];
        let e = EncodedAlerts::decode(payload(&alerts), 10).expect("decodes");
        assert_eq!(e.len(), 3);
        assert_eq!(e.alerts().expect("records decode"), alerts);
        let mut expected = Vec::new();
        for_each_columns(&alerts, |_, c| {
            expected.push(owned(c));
            Ok::<_, ()>(())
        })
        .expect("columns");
        let got: Vec<_> = e.columns().map(|c| owned(&c)).collect();
        assert_eq!(got, expected);
        let first = e.columns().next().expect("one");
        assert_eq!(first.src_ip, "10.0.1.255");
        assert_eq!(first.dst_ip, "2001:db8::1");
        assert_eq!(first.signature, "ET TEST 1");
        let empty = e.columns().nth(1).expect("two");
        assert_eq!(owned(&empty).1, vec![""; 6]);
        assert_eq!(empty.sid, 0);
    }

    #[test]
    fn refuses_what_the_full_message_refuses() {
        let mut p = payload(&[full(1)]);
        // A string field (`action`, tag 7) holding invalid UTF-8.
        let bad = [0x3a, 2, 0xff, 0xfe];
        p.push(bad.len() as u8);
        p.extend_from_slice(&bad);
        assert!(matches!(
            EncodedAlerts::decode(p.clone(), 10),
            Err(BatchError::Malformed { index: 1, .. })
        ));
        // Truncated.
        let mut t = payload(&[full(1)]);
        t.pop();
        assert!(matches!(
            EncodedAlerts::decode(t, 10),
            Err(BatchError::Malformed { index: 0, .. })
        ));
        assert!(matches!(
            EncodedAlerts::decode(payload(&[full(1), full(2)]), 1),
            Err(BatchError::TooManyRecords { limit: 1 })
        ));
        assert!(EncodedAlerts::decode(Vec::new(), 1)
            .expect("empty")
            .is_empty());
    }

    #[test]
    fn ip_text_is_the_standard_form() {
        for b in [
            vec![0, 0, 0, 0],
            vec![1, 2, 3, 4],
            vec![9, 10, 99, 100],
            vec![255, 255, 255, 255],
            vec![0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ] {
            let mut s = String::new();
            push_ip_text(&mut s, &b);
            assert_eq!(s, ip_from_bytes(&b).expect("ip").to_string());
        }
        let mut s = String::new();
        push_ip_text(&mut s, &[1, 2, 3]);
        assert_eq!(s, "");
    }
}
