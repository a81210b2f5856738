//! Engine events by family, each with Suricata's names: what decoders, session tracking,
//! reassembly and application-layer parsers raise, what counters and EVE `anomaly` records
//! name, and what `decode-event`, `stream-event` and `app-layer-event` rules match.
//!
//! One typed value per event crosses every crate: producers raise it, counters key on it,
//! the detection engine compares it, and the rule loader resolves a rule's name to it at
//! load time, so a misspelt name is a rejected rule rather than one that never matches.

mod decode;
mod stream;

pub use decode::{DecodeEvent, DecodeEvents};
pub use stream::{StreamEvent, SURICATA_ONLY_STREAM_EVENTS};
