//! What an SMB session remembers between messages, bounded, and the handing out of file data.

use std::collections::BTreeMap;

use tapwatch_common::Direction;

use crate::{FileChunk, SmbEvent, SmbEventKind, SmbOutput, FILE_DATA_LIMIT, MAX_TRACKED};

/// Inserts into a table that keeps at most [`MAX_TRACKED`] entries: the smallest key goes.
pub(crate) fn bounded_insert<K: Ord + Copy, V>(map: &mut BTreeMap<K, V>, k: K, v: V) {
    if map.len() >= MAX_TRACKED && !map.contains_key(&k) {
        map.pop_first();
    }
    map.insert(k, v);
}

/// A read whose response is awaited.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingRead {
    pub file_id: u64,
    pub offset: u64,
}

/// A file's data that continues past the buffered part of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Continuation {
    pub file_id: u64,
    /// The file offset of the first byte after the buffered part.
    pub offset: u64,
    /// The message offset where the data ends.
    pub end: usize,
}

/// Requests keyed by protocol-specific request ids (SMB1: MID, PID, UID; SMB2: MessageId),
/// with a tag bit so the two dialects never collide.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Tree connects awaiting their response: the path asked for.
    pub pending_trees: BTreeMap<u64, Vec<u8>>,
    /// Creates awaiting their response: the file name.
    pub pending_creates: BTreeMap<u64, Vec<u8>>,
    /// Reads awaiting their response.
    pub pending_reads: BTreeMap<u64, PendingRead>,
    /// Bytes of each file handed out so far.
    pub file_bytes: BTreeMap<u64, u64>,
}

impl Session {
    /// A tree connect response: `is_pipe` from the service type or share type.
    pub fn tree_connected(
        &mut self,
        key: u64,
        dir: Direction,
        is_pipe: bool,
        out: &mut Vec<SmbOutput>,
    ) {
        let Some(path) = self.pending_trees.remove(&key) else {
            return;
        };
        let (named_pipe, share) = if is_pipe {
            (Some(path), None)
        } else {
            (None, Some(path))
        };
        out.push(SmbOutput::Event(Box::new(SmbEvent {
            dir,
            kind: SmbEventKind::TreeConnect,
            named_pipe,
            share,
            file_name: None,
        })));
    }

    /// A create response (successful or not).
    pub fn created(&mut self, key: u64, dir: Direction, out: &mut Vec<SmbOutput>) {
        let Some(name) = self.pending_creates.remove(&key) else {
            return;
        };
        out.push(SmbOutput::Event(Box::new(SmbEvent {
            dir,
            kind: SmbEventKind::Create,
            named_pipe: None,
            share: None,
            file_name: Some(name),
        })));
    }

    /// Hands out `data` of `file_id` at `offset`, within [`FILE_DATA_LIMIT`] per file.
    pub fn file_data(
        &mut self,
        dir: Direction,
        file_id: u64,
        offset: u64,
        data: &[u8],
        out: &mut Vec<SmbOutput>,
    ) {
        if data.is_empty() {
            return;
        }
        let sent = self.file_bytes.get(&file_id).copied().unwrap_or(0);
        let room = FILE_DATA_LIMIT.saturating_sub(sent);
        let take = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
        if take == 0 {
            return;
        }
        bounded_insert(&mut self.file_bytes, file_id, sent + take as u64);
        out.push(SmbOutput::FileData(FileChunk {
            dir,
            file_id,
            offset,
            data: data[..take].to_vec(),
            complete: false,
        }));
    }

    /// The data of a read or write found at `msg[start..start + len]` in a message whose full
    /// length is `full_len` (`msg` may hold only its first part). Returns how the data goes on
    /// past the buffered part, if it does.
    #[allow(clippy::too_many_arguments)]
    pub fn message_data(
        &mut self,
        dir: Direction,
        file_id: u64,
        offset: u64,
        msg: &[u8],
        full_len: usize,
        start: usize,
        len: usize,
        out: &mut Vec<SmbOutput>,
    ) -> Option<Continuation> {
        let end = start.saturating_add(len).min(full_len);
        if start >= end {
            return None;
        }
        let have_end = end.min(msg.len());
        if let Some(here) = msg.get(start..have_end) {
            self.file_data(dir, file_id, offset, here, out);
        }
        (end > msg.len() && start <= msg.len()).then(|| Continuation {
            file_id,
            offset: offset.saturating_add((msg.len() - start) as u64),
            end,
        })
    }

    /// A file was closed.
    pub fn closed(&mut self, dir: Direction, file_id: u64, out: &mut Vec<SmbOutput>) {
        if self.file_bytes.remove(&file_id).is_some() {
            out.push(SmbOutput::FileData(FileChunk {
                dir,
                file_id,
                offset: 0,
                data: Vec::new(),
                complete: true,
            }));
        }
    }
}
