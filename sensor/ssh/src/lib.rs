//! SSH: the identification string of each side (RFC 4253 section 4.2) and the binary packet
//! layer up to `SSH_MSG_NEWKEYS`, after which a direction is encrypted and no longer read.
//!
//! Memory is bounded: a banner line is kept up to [`MAX_BANNER_BYTES`], a packet header up to
//! six bytes; packet bodies are skipped, never buffered.
#![forbid(unsafe_code)]

mod banner;
mod parser;

pub use banner::Banner;
pub use parser::{SshEvent, SshInfo, SshParser};

use tapwatch_common::{Direction, Probe};

/// The longest identification line kept (RFC 4253 allows 255 bytes with CR LF).
pub const MAX_BANNER_BYTES: usize = 255;

/// Whether the first bytes of a stream are an SSH identification string (`SSH-`), in either
/// direction.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    const SIG: &[u8] = b"SSH-";
    if data.starts_with(SIG) {
        Probe::Match
    } else if data.len() < SIG.len() && SIG.starts_with(data) {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_banner() {
        let s = Direction::ToServer;
        assert_eq!(probe(s, b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::Match);
        assert_eq!(probe(Direction::ToClient, b"SSH-1.99-x\r\n"), Probe::Match);
        assert_eq!(probe(s, b"SS"), Probe::NeedMore);
        assert_eq!(probe(s, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe(s, b"\x16\x03\x01"), Probe::NoMatch);
        assert_eq!(probe(s, b"ssh-2.0-x"), Probe::NoMatch);
    }
}
