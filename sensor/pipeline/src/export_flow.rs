//! Flow records for the center, from the typed record the EVE output writes.
//!
//! The worker hands each ended flow to its EVE output as a [`FlowRecord`] value
//! ([`RecordSink::take_flow`]). When flows are exported, [`FlowExport`] sits in front of that
//! output: it hands a copy of the value to the exporter's queue (the batcher converts it to
//! protobuf off the packet path, `tapwatch_export::flow`) and passes the value on to the EVE
//! output. Nothing reads our own EVE text back: the record the center stores and the EVE line
//! come from one value (a test in `tapwatch-export` holds them equal to what the center's EVE
//! reader makes of the EVE line).

use std::io::{self, Write};

use tapwatch_eve::{FlowRecord, RecordSink};
use tapwatch_export::ExportHandle;

/// Where exported flow records go.
pub trait FlowSink: Send {
    /// One flow record; `false` when it could not be queued (the sink counts it).
    fn flow(&mut self, record: FlowRecord) -> bool;
}

impl FlowSink for ExportHandle {
    fn flow(&mut self, record: FlowRecord) -> bool {
        self.try_send_flow_record(record)
    }
}

/// An EVE output that also exports every flow record it is handed.
pub struct FlowExport<W> {
    inner: W,
    sink: Box<dyn FlowSink>,
    /// Records handed to the sink (accepted or not).
    exported: u64,
}

impl<W> std::fmt::Debug for FlowExport<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowExport")
            .field("exported", &self.exported)
            .finish_non_exhaustive()
    }
}

impl<W: RecordSink> FlowExport<W> {
    /// Exports the flow records written to `inner` through `sink`.
    pub fn new(inner: W, sink: Box<dyn FlowSink>) -> Self {
        Self {
            inner,
            sink,
            exported: 0,
        }
    }

    /// Flow records handed to the sink so far.
    pub fn exported(&self) -> u64 {
        self.exported
    }
}

impl<W: RecordSink> Write for FlowExport<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: RecordSink> RecordSink for FlowExport<W> {
    fn take_flow(&mut self, record: FlowRecord) -> Option<FlowRecord> {
        self.sink.flow(record.clone());
        self.exported += 1;
        self.inner.take_flow(record)
    }

    fn hand_over(&mut self) -> io::Result<()> {
        self.inner.hand_over()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_common::Timestamp;
    use tapwatch_eve::{Endpoint, FlowBody};

    #[derive(Clone, Default)]
    struct Collect(std::sync::Arc<std::sync::Mutex<Vec<u64>>>);

    impl FlowSink for Collect {
        fn flow(&mut self, record: FlowRecord) -> bool {
            self.0.lock().expect("lock").push(record.flow_id);
            true
        }
    }

    #[test]
    fn the_tee_exports_every_flow_and_passes_it_on() {
        let at = Timestamp::new(1_700_000_000, 0);
        let endpoint = |ip: &str| Endpoint {
            ip: ip.parse().unwrap(),
            port: Some(53),
        };
        let record = FlowRecord {
            start: at,
            flow_id: 9,
            vlan: Vec::new(),
            endpoints: (endpoint("10.0.0.1"), endpoint("192.0.2.1")),
            proto: 17,
            icmp: None,
            app_proto: Some("dns"),
            body: FlowBody {
                pkts_toserver: 1,
                pkts_toclient: 1,
                bytes_toserver: 60,
                bytes_toclient: 90,
                start: at,
                end: at,
                state: "established",
                reason: "timeout",
                alerted: false,
            },
            tcp: None,
        };
        let seen = Collect::default();
        let mut tee = FlowExport::new(Vec::<u8>::new(), Box::new(seen.clone()));
        // A `Vec` output hands the record back for the caller to format.
        let back = tee.take_flow(record).expect("handed back");
        assert_eq!(back.flow_id, 9);
        tee.write_all(b"{}\n").unwrap();
        assert_eq!(tee.exported(), 1);
        assert_eq!(*seen.0.lock().unwrap(), vec![9]);
        assert_eq!(tee.inner, b"{}\n");
    }
}
