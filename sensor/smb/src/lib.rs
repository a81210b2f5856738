//! SMB1 and SMB2/3 over the NetBIOS session service (TCP 139/445), as far as detection needs:
//! tree connects (the share or named pipe), creates (file names), and the data of
//! reads and writes as file chunks.
//!
//! Memory is bounded per flow: each direction buffers at most [`MAX_MESSAGE_BUFFER`] bytes of
//! a NetBIOS message (the data of a larger read or write is passed on as it streams by), the
//! session tables hold at most [`MAX_TRACKED`] entries each, and at most
//! [`FILE_DATA_LIMIT`] bytes of each file are handed out.
#![forbid(unsafe_code)]

mod bytes;
mod framing;
mod session;
mod smb1;
mod smb2;

pub use framing::SmbParser;

use tapwatch_common::{Direction, Probe};

/// Bytes of one NetBIOS message buffered for parsing; the data of larger reads and writes
/// is passed on unbuffered.
pub const MAX_MESSAGE_BUFFER: usize = 64 * 1024;
/// Entries in each session table (trees, files, outstanding requests); the oldest key goes.
pub const MAX_TRACKED: usize = 256;
/// Bytes of one file's data handed out as [`SmbOutput::FileData`]; the rest is not
/// inspected.
pub const FILE_DATA_LIMIT: u64 = 1 << 20;

/// What a tree connect or create told about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbEvent {
    /// The direction of the message that completed it (the response, usually to the client).
    pub dir: Direction,
    /// What it was.
    pub kind: SmbEventKind,
    /// For a tree connect to a named pipe share (`IPC$`): the path the client asked for, as
    /// Suricata's `smb.named_pipe` buffer holds it (UTF-16 turned into UTF-8).
    pub named_pipe: Option<Vec<u8>>,
    /// For a tree connect to any other share: its path (Suricata's `smb.share` buffer).
    pub share: Option<Vec<u8>>,
    /// For a create or open: the file (or pipe) name.
    pub file_name: Option<Vec<u8>>,
}

/// The kind of an [`SmbEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmbEventKind {
    /// `TREE_CONNECT(_ANDX)`.
    TreeConnect,
    /// `NT_CREATE_ANDX` / SMB2 `CREATE`.
    Create,
}

/// A piece of a file read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChunk {
    /// The direction the data travelled (writes to the server, reads to the client).
    pub dir: Direction,
    /// The file within the flow (SMB1: tree and FID; SMB2: the file id folded to 64 bits).
    pub file_id: u64,
    /// The offset of `data` within the file.
    pub offset: u64,
    /// The bytes (empty with `complete`).
    pub data: Vec<u8>,
    /// The file was closed: no more data will come for it.
    pub complete: bool,
}

/// What the parser produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmbOutput {
    /// A tree connect or create completed.
    Event(Box<SmbEvent>),
    /// File data.
    FileData(FileChunk),
}

/// The first NetBIOS records a probe looks through (session requests, keep-alives) before
/// an SMB message must appear.
const PROBE_MAX_RECORDS: usize = 4;

/// Whether the first bytes of a stream are SMB over the NetBIOS session service: a session
/// message (type 0) whose payload starts with `\xffSMB` (SMB1), `\xfeSMB` (SMB2/3) or
/// `\xfdSMB` (SMB3 transform), possibly after a session request or keep-alive.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let mut at = 0usize;
    for _ in 0..PROBE_MAX_RECORDS {
        let Some(hdr) = data.get(at..at + 4) else {
            return Probe::NeedMore;
        };
        let len = usize::from(hdr[1]) << 16 | usize::from(hdr[2]) << 8 | usize::from(hdr[3]);
        match hdr[0] {
            0x00 => {
                if hdr[1] & 0xFE != 0 {
                    return Probe::NoMatch;
                }
                let Some(magic) = data.get(at + 4..at + 8) else {
                    let have = data.get(at + 4..).unwrap_or_default();
                    let prefix = [b"\xffSMB", b"\xfeSMB", b"\xfdSMB"]
                        .iter()
                        .any(|m| m.starts_with(have));
                    return if prefix {
                        Probe::NeedMore
                    } else {
                        Probe::NoMatch
                    };
                };
                let min = match magic {
                    b"\xffSMB" => 32,
                    b"\xfeSMB" => 64,
                    b"\xfdSMB" => 52,
                    _ => return Probe::NoMatch,
                };
                return if len >= min {
                    Probe::Match
                } else {
                    Probe::NoMatch
                };
            }
            // Session request/responses and keep-alives: short, then SMB follows.
            0x81..=0x85 if len <= 128 => at += 4 + len,
            _ => return Probe::NoMatch,
        }
    }
    Probe::NoMatch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_netbios_smb() {
        let s = Direction::ToServer;
        let mut smb1 = vec![0, 0, 0, 0x2f];
        smb1.extend(b"\xffSMB\x72");
        smb1.resize(4 + 0x2f, 0);
        assert_eq!(probe(s, &smb1), Probe::Match);
        let mut smb2 = vec![0, 0, 0, 0x44];
        smb2.extend(b"\xfeSMB\x40\x00");
        assert_eq!(probe(s, &smb2), Probe::Match);
        assert_eq!(probe(s, &smb2[..6]), Probe::NeedMore);
        assert_eq!(probe(s, &[0, 0]), Probe::NeedMore);
        // Session request first (port 139), then SMB.
        let mut nb = vec![0x81, 0, 0, 2, 0x20, 0x20];
        nb.extend(&smb1);
        assert_eq!(probe(s, &nb), Probe::Match);
        // Too short for an SMB header, other magic, other protocols.
        assert_eq!(probe(s, b"\x00\x00\x00\x10\xffSMB"), Probe::NoMatch);
        assert_eq!(probe(s, b"\x00\x00\x00\x40\xfeSMX"), Probe::NoMatch);
        assert_eq!(probe(s, b"\x00\x00\x00\x40GET "), Probe::NoMatch);
        assert_eq!(probe(s, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe(s, b"\x16\x03\x01\x00\x05"), Probe::NoMatch);
        // A DNS over TCP message: length then id.
        assert_eq!(
            probe(s, b"\x00\x1d\x12\x34\x01\x00\x00\x01"),
            Probe::NoMatch
        );
    }
}

#[cfg(test)]
mod conversation_tests;
