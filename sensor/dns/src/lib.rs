//! DNS over UDP and TCP for tapwatch.
//!
//! - [`probe_udp`] / [`probe_tcp`] tell whether the first bytes of a flow are DNS.
//! - [`parse_message`] decodes one message, following compression pointers with loop
//!   protection and bounding names and record counts by [`DnsConfig`].
//! - [`DnsFlow`] keeps per-flow state (transaction ids, TCP framing per direction) and turns
//!   payloads into [`DnsEvent`]s: parsed messages and [`DnsAnomaly`]s named as Suricata's
//!   `dns` app-layer events.
//! - [`DnsRecord`] serializes to the object Suricata 8 writes under `"dns"` in EVE `dns`
//!   records (see the `eve` module notes for the exact shape).
//! - [`MdnsRecord`] serializes a message seen on an mDNS flow (UDP port 5353, see
//!   [`DnsFlow::new_mdns`]) to the object Suricata 8 writes under `"mdns"` in EVE `mdns`
//!   records (see the `mdns` module notes).
//!
//! Invariants: no input panics; every list and buffer is bounded by a [`DnsConfig`] value;
//! no `unsafe`.

mod anomaly;
mod config;
mod error;
mod eve;
mod flow;
mod mdns;
mod message;
mod name;
mod probe;
mod rdata;

#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

pub use anomaly::DnsAnomaly;
pub use config::DnsConfig;
pub use error::DnsError;
pub use eve::{escape_bytes, rcode_name, rrtype_name};
pub use flow::{DnsEvent, DnsFlow, DnsRecord};
pub use mdns::MdnsRecord;
pub use message::{
    parse_message, DnsMessage, EdnsOption, Question, RData, ResourceRecord, Soa, Srv,
};
pub use probe::{probe_tcp, probe_udp};
