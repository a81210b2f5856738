//! Answers of application-layer protocol probes.

/// What a protocol probe concluded from the first bytes of a stream or datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this protocol.
    Match,
    /// The bytes are not this protocol.
    NoMatch,
    /// Too few bytes to tell; ask again with more.
    NeedMore,
}
