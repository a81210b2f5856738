//! tapwatch-files: the files an application-layer transaction carries.
//!
//! A [`FileTracker`] follows one file from its first byte to its end: the bytes are
//! appended in order and hashed as they come (MD5, SHA-1, SHA-256, each only when asked
//! for), never kept; missing bytes (stream gaps) are noted; a size limit, when the protocol
//! has one, truncates the file. [`FileTracker::finish`] gives the [`FileInfo`] record whose
//! `Serialize` output is Suricata 8.0.6's EVE `fileinfo` object.
//!
//! Suricata's semantics kept here (checked against its records):
//! - `state` is `CLOSED` when the protocol said where the file ends and it ended there,
//!   `TRUNCATED` when it was cut short (a size limit, the stream's depth, the flow ending
//!   mid-file), `ERROR` when the protocol reported an error, `OPEN` never in a finished
//!   record written by tapwatch (an open file is truncated when its transaction ends);
//! - `gaps` is true when bytes of the file were missing; hashing stops at the first gap
//!   (a hash of part of a file would name no file), so such a record has no hashes;
//! - `size` counts the file's bytes up to the last one seen, missing ones included (Suricata's
//!   records: a 70-byte body with a 14-byte hole is logged with `size` 70);
//! - hashes of a truncated file cover what was seen.
//!
//! Invariant: a tracker holds only its name and the hashers' state, whatever the file's
//! size.
#![forbid(unsafe_code)]

use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use serde::ser::{Serialize, SerializeMap, Serializer};
use sha1::Sha1;
use sha2::Sha256;
use tapwatch_common::text::escape_bytes;
use tapwatch_common::Direction;

/// Which hashes to compute for each file (Suricata's `force-hash`, or what rules need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileHashes {
    /// MD5 (`md5`).
    pub md5: bool,
    /// SHA-1 (`sha1`).
    pub sha1: bool,
    /// SHA-256 (`sha256`).
    pub sha256: bool,
}

impl FileHashes {
    /// No hash at all.
    pub const NONE: Self = Self {
        md5: false,
        sha1: false,
        sha256: false,
    };

    /// The union of two sets.
    pub fn union(self, other: Self) -> Self {
        Self {
            md5: self.md5 || other.md5,
            sha1: self.sha1 || other.sha1,
            sha256: self.sha256 || other.sha256,
        }
    }
}

/// Where a file is in its life, with Suricata's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileState {
    /// Data may still come.
    #[default]
    Open,
    /// The file ended where the protocol said it would.
    Closed,
    /// The file was cut short.
    Truncated,
    /// The protocol reported an error for the file.
    Error,
}

impl FileState {
    /// The EVE `state` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Closed => "CLOSED",
            Self::Truncated => "TRUNCATED",
            Self::Error => "ERROR",
        }
    }
}

/// One file being received.
#[derive(Debug, Clone)]
pub struct FileTracker {
    name: Vec<u8>,
    direction: Direction,
    tx_id: u64,
    size: u64,
    limit: Option<u64>,
    gaps: bool,
    stored: bool,
    state: FileState,
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
}

impl FileTracker {
    /// A file named `name`, travelling `direction`, carried by transaction `tx_id`, hashed
    /// as `hashes` says; with `limit`, the bytes past the first `limit` are not taken and the
    /// file is truncated.
    pub fn open(
        name: Vec<u8>,
        direction: Direction,
        tx_id: u64,
        hashes: FileHashes,
        limit: Option<u64>,
    ) -> Self {
        Self {
            name,
            direction,
            tx_id,
            size: 0,
            limit,
            gaps: false,
            stored: false,
            state: FileState::Open,
            md5: hashes.md5.then(Md5::new),
            sha1: hashes.sha1.then(Sha1::new),
            sha256: hashes.sha256.then(Sha256::new),
        }
    }

    /// The file's name as the protocol gave it.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Replaces the file's name (a later header named it).
    pub fn rename(&mut self, name: Vec<u8>) {
        self.name = name;
    }

    /// Bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file's state.
    pub fn state(&self) -> FileState {
        self.state
    }

    /// True while data is taken.
    pub fn is_open(&self) -> bool {
        self.state == FileState::Open
    }

    /// True when bytes were missing.
    pub fn has_gaps(&self) -> bool {
        self.gaps
    }

    /// Appends the next bytes of the file; ignored once the file is not open. Returns the
    /// number of bytes taken (fewer than `data.len()` when the limit truncated the file).
    pub fn append(&mut self, data: &[u8]) -> usize {
        if !self.is_open() || data.is_empty() {
            return 0;
        }
        let take = match self.limit {
            Some(limit) => {
                let room = limit.saturating_sub(self.size);
                usize::try_from(room).unwrap_or(usize::MAX).min(data.len())
            }
            None => data.len(),
        };
        let taken = data.get(..take).unwrap_or_default();
        if let Some(h) = self.md5.as_mut() {
            h.update(taken);
        }
        if let Some(h) = self.sha1.as_mut() {
            h.update(taken);
        }
        if let Some(h) = self.sha256.as_mut() {
            h.update(taken);
        }
        self.size = self.size.saturating_add(take as u64);
        if take < data.len() {
            self.state = FileState::Truncated;
        }
        take
    }

    /// `len` bytes of the file are missing: the file has gaps and is no longer hashed; the
    /// missing bytes count in its size (up to the limit, which truncates the file). A gap of
    /// 0 bytes (data lost around the file's bytes, not in them) marks the file all the same.
    pub fn gap(&mut self, len: u64) {
        if !self.is_open() {
            return;
        }
        let room = self.limit.map_or(u64::MAX, |l| l.saturating_sub(self.size));
        self.size = self.size.saturating_add(len.min(room));
        if len > room {
            self.state = FileState::Truncated;
        }
        self.gaps = true;
        self.md5 = None;
        self.sha1 = None;
        self.sha256 = None;
    }

    /// The file ended where the protocol said it would.
    pub fn close(&mut self) {
        if self.is_open() {
            self.state = FileState::Closed;
        }
    }

    /// The file was cut short.
    pub fn truncate(&mut self) {
        if self.is_open() {
            self.state = FileState::Truncated;
        }
    }

    /// The protocol reported an error for the file.
    pub fn error(&mut self) {
        if self.is_open() {
            self.state = FileState::Error;
        }
    }

    /// Marks the file as stored (a `filestore` rule matched it).
    pub fn set_stored(&mut self, stored: bool) {
        self.stored = stored;
    }

    /// The finished record; a file still open is truncated first.
    pub fn finish(mut self) -> FileInfo {
        self.truncate();
        FileInfo {
            filename: self.name,
            direction: self.direction,
            gaps: self.gaps,
            state: self.state,
            md5: self.md5.map(|h| h.finalize().into()),
            sha1: self.sha1.map(|h| h.finalize().into()),
            sha256: self.sha256.map(|h| h.finalize().into()),
            stored: self.stored,
            size: self.size,
            tx_id: self.tx_id,
        }
    }
}

/// A finished file: the EVE `fileinfo` object.
///
/// Field order and presence as Suricata 8.0.6 writes them: `filename`, `gaps`, `state`,
/// `md5`, `sha1`, `sha256` (each when computed), `stored`, `size`, `tx_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The name as the protocol gave it.
    pub filename: Vec<u8>,
    /// The direction the file travelled (not written: the record's addresses show it).
    pub direction: Direction,
    /// Bytes were missing.
    pub gaps: bool,
    /// How the file ended.
    pub state: FileState,
    /// MD5 of the bytes, when computed.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the bytes, when computed.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 of the bytes, when computed.
    pub sha256: Option<[u8; 32]>,
    /// A `filestore` rule asked for the file to be kept.
    pub stored: bool,
    /// Bytes seen.
    pub size: u64,
    /// The transaction that carried the file.
    pub tx_id: u64,
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Serialize for FileInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("filename", &escape_bytes(&self.filename))?;
        m.serialize_entry("gaps", &self.gaps)?;
        m.serialize_entry("state", self.state.name())?;
        if let Some(h) = &self.md5 {
            m.serialize_entry("md5", &hex(h))?;
        }
        if let Some(h) = &self.sha1 {
            m.serialize_entry("sha1", &hex(h))?;
        }
        if let Some(h) = &self.sha256 {
            m.serialize_entry("sha256", &hex(h))?;
        }
        m.serialize_entry("stored", &self.stored)?;
        m.serialize_entry("size", &self.size)?;
        m.serialize_entry("tx_id", &self.tx_id)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: FileHashes = FileHashes {
        md5: true,
        sha1: true,
        sha256: true,
    };

    #[test]
    fn hashes_match_known_vectors_at_every_split() {
        let data = b"abc";
        for split in 0..=data.len() {
            let mut f = FileTracker::open(b"x".to_vec(), Direction::ToClient, 0, ALL, None);
            let (a, b) = data.split_at(split);
            f.append(a);
            f.append(b);
            f.close();
            let info = f.finish();
            assert_eq!(hex(&info.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
            assert_eq!(
                hex(&info.sha1.unwrap()),
                "a9993e364706816aba3e25717850c26c9cd0d89d"
            );
            assert_eq!(
                hex(&info.sha256.unwrap()),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
            assert_eq!((info.size, info.state), (3, FileState::Closed));
        }
    }

    #[test]
    fn only_the_hashes_asked_for() {
        let mut f = FileTracker::open(
            b"x".to_vec(),
            Direction::ToClient,
            0,
            FileHashes {
                sha256: true,
                ..FileHashes::NONE
            },
            None,
        );
        f.close();
        let info = f.finish();
        assert_eq!((info.md5, info.sha1), (None, None));
        // The empty file's SHA-256.
        assert_eq!(
            hex(&info.sha256.unwrap()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_gap_stops_hashing_and_is_noted() {
        let mut f = FileTracker::open(b"x".to_vec(), Direction::ToClient, 2, ALL, None);
        f.append(b"ab");
        f.gap(4);
        f.append(b"cd");
        f.close();
        let info = f.finish();
        assert!(info.gaps);
        assert_eq!((info.md5, info.sha1, info.sha256), (None, None, None));
        assert_eq!(
            (info.size, info.state, info.tx_id),
            (8, FileState::Closed, 2)
        );
        let mut f = FileTracker::open(b"x".to_vec(), Direction::ToClient, 0, ALL, Some(5));
        f.append(b"ab");
        f.gap(4);
        assert_eq!((f.size(), f.state()), (5, FileState::Truncated));
    }

    #[test]
    fn the_limit_truncates() {
        let mut f = FileTracker::open(b"x".to_vec(), Direction::ToClient, 0, ALL, Some(5));
        assert_eq!(f.append(b"abc"), 3);
        assert!(f.is_open());
        assert_eq!(f.append(b"defg"), 2);
        assert_eq!(f.state(), FileState::Truncated);
        assert_eq!(f.append(b"h"), 0);
        f.close();
        let info = f.finish();
        assert_eq!((info.size, info.state), (5, FileState::Truncated));
        // Hashes cover what was taken: "abcde".
        assert_eq!(hex(&info.md5.unwrap()), "ab56b4d92b40713acc5af89985d4b786");
    }

    #[test]
    fn a_file_exactly_at_the_limit_is_closed() {
        let mut f = FileTracker::open(
            b"x".to_vec(),
            Direction::ToClient,
            0,
            FileHashes::NONE,
            Some(3),
        );
        f.append(b"abc");
        f.close();
        assert_eq!(f.finish().state, FileState::Closed);
    }

    #[test]
    fn finishing_an_open_file_truncates_it() {
        let mut f = FileTracker::open(
            b"x".to_vec(),
            Direction::ToClient,
            0,
            FileHashes::NONE,
            None,
        );
        f.append(b"abc");
        assert_eq!(f.finish().state, FileState::Truncated);
        let mut f = FileTracker::open(
            b"x".to_vec(),
            Direction::ToClient,
            0,
            FileHashes::NONE,
            None,
        );
        f.error();
        f.close();
        assert_eq!(f.finish().state, FileState::Error);
    }

    #[test]
    fn eve_object_in_suricata_order() {
        let mut f = FileTracker::open(b"/a\xffb".to_vec(), Direction::ToClient, 1, ALL, None);
        f.append(b"abc");
        f.close();
        let json = serde_json::to_string(&f.finish()).unwrap();
        assert_eq!(
            json,
            "{\"filename\":\"/a\\\\xffb\",\"gaps\":false,\"state\":\"CLOSED\",\
             \"md5\":\"900150983cd24fb0d6963f7d28e17f72\",\
             \"sha1\":\"a9993e364706816aba3e25717850c26c9cd0d89d\",\
             \"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\
             \"stored\":false,\"size\":3,\"tx_id\":1}"
        );
        let plain = FileTracker::open(
            b"n".to_vec(),
            Direction::ToClient,
            0,
            FileHashes::NONE,
            None,
        )
        .finish();
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            "{\"filename\":\"n\",\"gaps\":false,\"state\":\"TRUNCATED\",\"stored\":false,\"size\":0,\"tx_id\":0}"
        );
    }
}
