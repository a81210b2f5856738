//! TCP session tracking: the RFC 793 state machine with Suricata-style leniency, sequence and
//! acknowledgment validation, and session events.

mod events;
mod seq;
mod session;
mod state;

pub use events::{TcpEvent, TcpEvents};
pub(crate) use session::TcpPolicy;
pub use session::{TcpPeer, TcpSession};
pub use state::TcpState;

/// How many SYNs with a new ISN a client may send before a session raises
/// [`TcpEvent::ThreeWhsSynFlood`] (Suricata's `stream.max-syn-queued` default).
pub const MAX_SYN_RESETS: u8 = 10;

/// Largest window scale shift RFC 7323 allows; larger announced values are clamped to it.
pub const MAX_WSCALE: u8 = 14;

/// Largest receive window a side can advertise: 65535 scaled by [`MAX_WSCALE`] (just under
/// 1 GiB, so sequence comparisons across it stay unambiguous).
pub(crate) const MAX_WINDOW: u32 = (u16::MAX as u32) << MAX_WSCALE;
