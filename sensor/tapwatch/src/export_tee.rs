//! The EVE output, teed to the exporter for flow records.
//!
//! When flow records are exported, [`EveTee`] sits between the worker's `EveWriter` and the
//! EVE file and hands every `flow` line to the exporter's queue as it passes, so the EVE record
//! is the single source of what the center stores for a flow. The capture thread pays one look
//! at the line's start and one copy per flow; the conversion to protobuf happens on the
//! exporter's batcher thread. A full queue drops the record and counts it (the exporter's
//! `dropped_queue_full`): the worker never blocks. (Alerts do not pass here: the worker builds
//! them itself, see `tapwatch_pipeline::export_alert`.)

use std::io::{self, Write};

use tapwatch_export::ExportHandle;

/// Bytes from the start of a line searched for `"event_type":"`: the envelope puts it after
/// the timestamp, `flow_id` and `pcap_cnt`, well within this.
const EVENT_TYPE_WINDOW: usize = 256;

/// Longest partial line kept between writes (a record larger than this is not exported; the
/// writer always hands whole lines, so this only bounds memory against a misbehaving caller).
const MAX_PENDING: usize = 16 << 20;

/// A writer that forwards everything to `inner` and exports the flow lines.
pub struct EveTee<W: Write> {
    inner: W,
    handle: ExportHandle,
    /// The start of a line whose end has not been written yet.
    pending: Vec<u8>,
    /// Lines handed to the exporter (accepted or not).
    exported: u64,
}

impl<W: Write> std::fmt::Debug for EveTee<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EveTee")
            .field("exported", &self.exported)
            .finish_non_exhaustive()
    }
}

impl<W: Write> EveTee<W> {
    /// Tees `inner`, exporting its flow lines.
    pub fn new(inner: W, handle: ExportHandle) -> Self {
        EveTee {
            inner,
            handle,
            pending: Vec::new(),
            exported: 0,
        }
    }

    fn line(&mut self, line: &[u8]) {
        if event_type(line) == Some(b"flow") {
            self.handle.try_send_flow_eve(line);
            self.exported += 1;
        }
    }

    fn scan(&mut self, buf: &[u8]) {
        let mut rest = buf;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(nl);
            if self.pending.is_empty() {
                self.line(line);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.line(&whole);
                whole.clear();
                self.pending = whole;
            }
            rest = tail.get(1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            if self.pending.len() + rest.len() <= MAX_PENDING {
                self.pending.extend_from_slice(rest);
            } else {
                self.pending.clear();
            }
        }
    }
}

/// The value of `event_type` of an EVE line, when it is near the start.
fn event_type(line: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\"event_type\":\"";
    let head = line.get(..EVENT_TYPE_WINDOW.min(line.len()))?;
    let at = memchr::memmem::find(head, KEY)? + KEY.len();
    let value = line.get(at..)?;
    let end = memchr::memchr(b'"', value)?;
    value.get(..end)
}

/// Flow records are formatted by the worker and written through the tee, which exports
/// their lines.
impl<W: Write> tapwatch_eve::RecordSink for EveTee<W> {}

impl<W: Write> Write for EveTee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(done) = buf.get(..n) {
            self.scan(done);
        }
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.scan(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_event_type() {
        let l = br#"{"timestamp":"2024-01-01T00:00:00.000000+0000","flow_id":1,"pcap_cnt":3,"event_type":"alert","src_ip":"1.2.3.4"}"#;
        assert_eq!(event_type(l), Some(&b"alert"[..]));
        assert_eq!(event_type(br#"{"event_type":"flow"}"#), Some(&b"flow"[..]));
        assert_eq!(event_type(br#"{"timestamp":"x"}"#), None);
        assert_eq!(event_type(b""), None);
        assert_eq!(event_type(br#"{"event_type":"unterminated"#), None);
    }
}
