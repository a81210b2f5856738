//! SMB1 (`\xffSMB`): the commands that name shares and files and carry file data, followed
//! along AndX chains.

use tapwatch_common::Direction;

use crate::bytes::{ascii, u16le, u32le, utf16};
use crate::session::{bounded_insert, Continuation, PendingRead, Session};
use crate::SmbOutput;

const HEADER: usize = 32;
const FLAGS_REPLY: u8 = 0x80;
const FLAGS2_UNICODE: u16 = 0x8000;
/// AndX chains longer than this are not followed (each link must also move forward).
const MAX_CHAIN: usize = 16;

const CMD_CLOSE: u8 = 0x04;
const CMD_LOCKING_ANDX: u8 = 0x24;
const CMD_READ_ANDX: u8 = 0x2E;
const CMD_WRITE_ANDX: u8 = 0x2F;
const CMD_SESSION_SETUP_ANDX: u8 = 0x73;
const CMD_LOGOFF_ANDX: u8 = 0x74;
const CMD_TREE_CONNECT_ANDX: u8 = 0x75;
const CMD_NT_CREATE_ANDX: u8 = 0xA2;

/// The SMB1 request tag in session keys.
const TAG: u64 = 1 << 63;

/// The header fields the commands need.
#[derive(Debug, Clone, Copy)]
struct Header {
    reply: bool,
    unicode: bool,
    tid: u16,
    key: u64,
}

/// A file within the flow: tree and FID.
fn file_id(tid: u16, fid: u16) -> u64 {
    TAG | u64::from(tid) << 16 | u64::from(fid)
}

/// Parses one SMB1 message (`msg`, possibly only the first part of `full_len` bytes).
pub(crate) fn parse(
    sess: &mut Session,
    dir: Direction,
    msg: &[u8],
    full_len: usize,
    out: &mut Vec<SmbOutput>,
) -> Option<Continuation> {
    if msg.len() < HEADER || &msg[..4] != b"\xffSMB" {
        return None;
    }
    let flags2 = u16le(msg, 10)?;
    let tid = u16le(msg, 24)?;
    let pid = u16le(msg, 26)?;
    let uid = u16le(msg, 28)?;
    let mid = u16le(msg, 30)?;
    let hdr = Header {
        reply: msg[9] & FLAGS_REPLY != 0,
        unicode: flags2 & FLAGS2_UNICODE != 0,
        tid,
        key: TAG | u64::from(uid) << 32 | u64::from(pid) << 16 | u64::from(mid),
    };
    let mut cmd = msg[4];
    let mut at = HEADER;
    let mut cont = None;
    for _ in 0..MAX_CHAIN {
        let wc = usize::from(*msg.get(at)?);
        let words = msg.get(at + 1..at + 1 + 2 * wc)?;
        let bc = usize::from(u16le(msg, at + 1 + 2 * wc).unwrap_or(0));
        let bytes_at = at + 3 + 2 * wc;
        let block = Block {
            msg,
            full_len,
            words,
            bytes_at,
            bytes: msg
                .get(bytes_at..bytes_at.saturating_add(bc).min(msg.len()))
                .unwrap_or_default(),
        };
        if let Some(c) = command(sess, dir, hdr, cmd, &block, out) {
            cont = Some(c);
        }
        let andx = matches!(
            cmd,
            CMD_LOCKING_ANDX
                | CMD_READ_ANDX
                | CMD_WRITE_ANDX
                | CMD_SESSION_SETUP_ANDX
                | CMD_LOGOFF_ANDX
                | CMD_TREE_CONNECT_ANDX
                | CMD_NT_CREATE_ANDX
        );
        if !andx || words.len() < 4 || words[0] == 0xFF {
            break;
        }
        let next = usize::from(u16le(words, 2)?);
        if next <= at || next >= msg.len() {
            break;
        }
        cmd = words[0];
        at = next;
    }
    cont
}

/// One command block of a message.
struct Block<'a> {
    msg: &'a [u8],
    full_len: usize,
    words: &'a [u8],
    /// Where the bytes start in the message (for alignment and data offsets).
    bytes_at: usize,
    bytes: &'a [u8],
}

impl Block<'_> {
    /// The string at `skip` bytes into the byte section: UTF-16 (aligned to an even message
    /// offset) or 8-bit.
    fn string(&self, skip: usize, unicode: bool) -> Vec<u8> {
        let mut from = skip;
        if unicode {
            if (self.bytes_at + from) % 2 == 1 {
                from += 1;
            }
            utf16(self.bytes.get(from..).unwrap_or_default())
        } else {
            ascii(self.bytes.get(from..).unwrap_or_default())
        }
    }
}

fn command(
    sess: &mut Session,
    dir: Direction,
    hdr: Header,
    cmd: u8,
    b: &Block<'_>,
    out: &mut Vec<SmbOutput>,
) -> Option<Continuation> {
    let w = b.words;
    match (cmd, hdr.reply) {
        (CMD_TREE_CONNECT_ANDX, false) => {
            let pw_len = usize::from(u16le(w, 6)?);
            let path = b.string(pw_len, hdr.unicode);
            bounded_insert(&mut sess.pending_trees, hdr.key, path);
        }
        (CMD_TREE_CONNECT_ANDX, true) => {
            // The service: "IPC" for a named pipe share, "A:" for disks, "LPT1:" ...
            let service = ascii(b.bytes);
            sess.tree_connected(hdr.key, dir, service == b"IPC", out);
        }
        (CMD_NT_CREATE_ANDX, false) => {
            let name = b.string(0, hdr.unicode);
            bounded_insert(&mut sess.pending_creates, hdr.key, name);
        }
        (CMD_NT_CREATE_ANDX, true) => sess.created(hdr.key, dir, out),
        (CMD_WRITE_ANDX, false) if w.len() >= 24 => {
            let fid = u16le(w, 4)?;
            let mut offset = u64::from(u32le(w, 6)?);
            if w.len() >= 28 {
                offset |= u64::from(u32le(w, 24)?) << 32;
            }
            let len = usize::from(u16le(w, 18)?) << 16 | usize::from(u16le(w, 20)?);
            let data_at = usize::from(u16le(w, 22)?);
            return sess.message_data(
                dir,
                file_id(hdr.tid, fid),
                offset,
                b.msg,
                b.full_len,
                data_at,
                len,
                out,
            );
        }
        (CMD_READ_ANDX, false) if w.len() >= 20 => {
            let fid = u16le(w, 4)?;
            let mut offset = u64::from(u32le(w, 6)?);
            if w.len() >= 24 {
                offset |= u64::from(u32le(w, 20)?) << 32;
            }
            let read = PendingRead {
                file_id: file_id(hdr.tid, fid),
                offset,
            };
            bounded_insert(&mut sess.pending_reads, hdr.key, read);
        }
        (CMD_READ_ANDX, true) if w.len() >= 24 => {
            let read = sess.pending_reads.remove(&hdr.key)?;
            let len = usize::from(u16le(w, 14)?) << 16 | usize::from(u16le(w, 10)?);
            let data_at = usize::from(u16le(w, 12)?);
            return sess.message_data(
                dir,
                read.file_id,
                read.offset,
                b.msg,
                b.full_len,
                data_at,
                len,
                out,
            );
        }
        (CMD_CLOSE, false) => {
            let fid = u16le(w, 0)?;
            sess.closed(dir, file_id(hdr.tid, fid), out);
        }
        _ => {}
    }
    None
}
