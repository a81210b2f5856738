//! IPv4 and IPv6 defragmentation for tapwatch.
//!
//! A [`Defragmenter`] takes decoded [`Fragment`]s (plain values; it does not parse packets)
//! and returns whole IP packets once every byte of a datagram has arrived. Overlapping
//! fragments are resolved by a target-based [`OverlapPolicy`] and reported as
//! `ipv4.frag_overlap` / `ipv6.frag_overlap` when their data differ; identical
//! retransmissions are not events. Memory is bounded by [`DefragConfig`]: a tracker limit,
//! a byte memcap (oldest datagram evicted first), a fragment limit per datagram and a
//! timeout.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use tapwatch_common::Timestamp;
//! use tapwatch_defrag::{DefragConfig, DefragOutcome, Defragmenter, Fragment};
//!
//! let mut header = [0u8; 20];
//! header[0] = 0x45;
//! let frag = |offset, more, payload| Fragment {
//!     ts: Timestamp::new(1, 0),
//!     version: 4,
//!     src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
//!     dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
//!     protocol: 17,
//!     id: 42,
//!     offset,
//!     more,
//!     header: &header,
//!     payload,
//!     context: 0,
//! };
//! let mut d = Defragmenter::new(DefragConfig::default());
//! assert!(matches!(d.insert(&frag(8, false, b"world")), DefragOutcome::Pending { .. }));
//! match d.insert(&frag(0, true, b"hello, w")) {
//!     DefragOutcome::Complete { packet, .. } => {
//!         assert_eq!(&packet[20..], b"hello, wworld");
//!         assert_eq!(u16::from_be_bytes([packet[2], packet[3]]), 33);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```

mod config;
mod defragmenter;
mod event;
mod fragment;
mod header;
mod stats;
mod tracker;

pub use config::{DefragConfig, OverlapPolicy};
pub use defragmenter::{DefragOutcome, Defragmenter, DropReason};
pub use event::{DefragEvent, DefragEvents};
pub use fragment::Fragment;
pub use stats::DefragStats;

#[cfg(test)]
mod tests;
