//! Decoder tests: byte fixtures built by the helpers below, one module per area.

mod builders;
mod capture_links;
mod ip;
mod link;
mod props;
mod transport;
mod tunnels;
mod udp_tunnels;

use crate::{DecodeEvent, Decoded};

/// Asserts the exact set of events raised.
#[track_caller]
fn assert_events(d: &Decoded<'_>, expected: &[DecodeEvent]) {
    let got: Vec<DecodeEvent> = d.events.iter().collect();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(got, want, "events");
}
