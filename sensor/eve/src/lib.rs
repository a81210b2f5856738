//! EVE JSON output, field-compatible with Suricata's.
//!
//! Every record is one JSON object on one line. The common part (timestamp, flow id, packet
//! number, event type, VLANs, addresses, ports, protocol) is the [`Envelope`]; the event's own
//! object (`http`, `dns`, `tls`, `flow`, `anomaly`, `stats`, ...) is any `serde::Serialize`
//! value written under its key. Field names, nesting and value formats follow Suricata 8's
//! EVE output so that SIEM pipelines built for Suricata read tapwatch unchanged.
#![forbid(unsafe_code)]

mod alert;
mod deferred;
mod envelope;
mod format;
mod records;
mod writer;

pub use alert::{base64, printable, AlertBody, AlertFlow};
pub use deferred::{FlowRecord, RecordSink};
pub use envelope::{Endpoint, Envelope, EventType, PacketSource};
pub use format::{format_ip, format_timestamp, protocol_name, push_json_str, push_key, push_u64};
pub use records::{AnomalyBody, AnomalyType, FlowBody, TcpFlagsBody};
pub use writer::{AlertFields, EveWriter};
