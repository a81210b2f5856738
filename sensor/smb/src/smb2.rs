//! SMB2/3 (`\xfeSMB`): tree connects, creates, reads, writes and closes, through compound
//! chains.

use tapwatch_common::Direction;

use crate::bytes::{u16le, u32le, u64le, utf16};
use crate::session::{bounded_insert, Continuation, PendingRead, Session};
use crate::SmbOutput;

const HEADER: usize = 64;
const FLAGS_RESPONSE: u32 = 0x1;
/// Compound chains longer than this are not followed.
const MAX_CHAIN: usize = 32;

const CMD_TREE_CONNECT: u16 = 0x03;
const CMD_CREATE: u16 = 0x05;
const CMD_CLOSE: u16 = 0x06;
const CMD_READ: u16 = 0x08;
const CMD_WRITE: u16 = 0x09;

/// `ShareType` of a tree connect response for a named pipe share.
const SHARE_TYPE_PIPE: u8 = 0x02;
/// The status of an interim response.
const STATUS_PENDING: u32 = 0x0000_0103;

/// A 16-byte SMB2 file id folded to 64 bits.
fn file_id(b: &[u8], at: usize) -> Option<u64> {
    let persistent = u64le(b, at)?;
    let volatile = u64le(b, at + 8)?;
    Some((persistent.rotate_left(32) ^ volatile) & !(1 << 63))
}

/// Parses one SMB2 message (`msg`, possibly only the first part of `full_len` bytes).
pub(crate) fn parse(
    sess: &mut Session,
    dir: Direction,
    msg: &[u8],
    full_len: usize,
    out: &mut Vec<SmbOutput>,
) -> Option<Continuation> {
    let mut base = 0usize;
    let mut cont = None;
    for _ in 0..MAX_CHAIN {
        let h = msg.get(base..)?;
        if h.len() < HEADER || &h[..4] != b"\xfeSMB" {
            return cont;
        }
        let cmd = u16le(h, 12)?;
        let flags = u32le(h, 16)?;
        let next = usize::try_from(u32le(h, 20)?).ok()?;
        let message_id = u64le(h, 24)? & !(1 << 63);
        let status = u32le(h, 8)?;
        let cmd_len = if next == 0 {
            full_len.saturating_sub(base)
        } else {
            next
        };
        let c = Command {
            h,
            full_len: cmd_len,
            body: h.get(HEADER..).unwrap_or_default(),
            key: message_id,
            response: flags & FLAGS_RESPONSE != 0,
            ok: status == 0,
            interim: status == STATUS_PENDING,
        };
        if let Some(found) = command(sess, dir, cmd, &c, out) {
            cont = Some(Continuation {
                end: found.end + base,
                ..found
            });
        }
        if next < HEADER {
            break;
        }
        base = base.checked_add(next)?;
    }
    cont
}

/// One command of a message: `h` starts at its header.
struct Command<'a> {
    h: &'a [u8],
    /// The command's length within the message (to the next command or the end).
    full_len: usize,
    body: &'a [u8],
    key: u64,
    response: bool,
    ok: bool,
    /// An interim response (`STATUS_PENDING`): the real one follows.
    interim: bool,
}

fn command(
    sess: &mut Session,
    dir: Direction,
    cmd: u16,
    c: &Command<'_>,
    out: &mut Vec<SmbOutput>,
) -> Option<Continuation> {
    let b = c.body;
    match (cmd, c.response) {
        (CMD_TREE_CONNECT, false) => {
            let at = usize::from(u16le(b, 4)?);
            let len = usize::from(u16le(b, 6)?);
            let path = c.h.get(at..at.saturating_add(len).min(c.h.len()))?;
            bounded_insert(&mut sess.pending_trees, c.key, utf16(path));
        }
        (CMD_TREE_CONNECT, true) => {
            let is_pipe = c.ok && b.get(2) == Some(&SHARE_TYPE_PIPE);
            sess.tree_connected(c.key, dir, is_pipe, out);
        }
        (CMD_CREATE, false) => {
            let at = usize::from(u16le(b, 44)?);
            let len = usize::from(u16le(b, 46)?);
            let name = c.h.get(at..at.saturating_add(len).min(c.h.len()))?;
            bounded_insert(&mut sess.pending_creates, c.key, utf16(name));
        }
        (CMD_CREATE, true) => sess.created(c.key, dir, out),
        (CMD_WRITE, false) => {
            let data_at = usize::from(u16le(b, 2)?);
            let len = usize::try_from(u32le(b, 4)?).ok()?;
            let offset = u64le(b, 8)?;
            let fid = file_id(b, 16)?;
            return sess.message_data(dir, fid, offset, c.h, c.full_len, data_at, len, out);
        }
        (CMD_READ, false) => {
            let read = PendingRead {
                file_id: file_id(b, 16)?,
                offset: u64le(b, 8)?,
            };
            bounded_insert(&mut sess.pending_reads, c.key, read);
        }
        (CMD_READ, true) if !c.interim => {
            let read = sess.pending_reads.remove(&c.key)?;
            if !c.ok {
                return None;
            }
            let data_at = usize::from(*b.get(2)?);
            let len = usize::try_from(u32le(b, 4)?).ok()?;
            return sess.message_data(
                dir,
                read.file_id,
                read.offset,
                c.h,
                c.full_len,
                data_at,
                len,
                out,
            );
        }
        (CMD_CLOSE, false) => sess.closed(dir, file_id(b, 8)?, out),
        _ => {}
    }
    None
}
