//! Compiled literal databases and their serialized form.
//!
//! # Serialized form
//!
//! [`LiteralDatabase::serialize`] wraps libhs's own serialization in a small envelope, all
//! integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `TWHS` |
//! | 4 | 4 | envelope version, `1` |
//! | 8 | 8 | number of literals compiled |
//! | 16 | 8 | length `n` of libhs's serialized database (0 for an empty set) |
//! | 24 | n | libhs's serialized database |
//! | 24 + n | 32 | SHA-256 of every byte before it |
//!
//! The checksum is verified before libhs sees a byte, so damaged input is refused here and
//! libhs only ever parses what [`LiteralDatabase::serialize`] wrote (integrity, not
//! authenticity: whoever can write the bytes can write a matching checksum). libhs then
//! refuses a database built by another libhs version or for an incompatible CPU.

use sha2::{Digest, Sha256};

use crate::ffi::{self, RawDatabase};
use crate::{HsError, Literal, Scratch};

const MAGIC: &[u8; 4] = b"TWHS";
const ENVELOPE_VERSION: u32 = 1;
const HEADER_LEN: usize = 24;
const CHECKSUM_LEN: usize = 32;

/// A compiled block-mode database of literals.
///
/// `Send + Sync` and cheap to clone (the compiled database is shared): workers share one
/// behind an `Arc` or a clone, each scanning with its own [`Scratch`].
///
/// Compiling an empty set of literals gives a database that never matches; it needs no
/// scratch and serializes like any other.
#[derive(Debug, Clone)]
pub struct LiteralDatabase {
    raw: Option<RawDatabase>,
    literal_count: usize,
}

impl LiteralDatabase {
    /// Compiles `literals` for this host's CPU. Every literal is matched exactly (any byte
    /// value, metacharacters included), ASCII case-insensitively if `caseless`, and reported
    /// at most once per scan. An empty slice gives a database that never matches. An empty
    /// literal, or more than `u32::MAX` literals, is refused with [`HsError::Compile`].
    pub fn compile(literals: &[Literal]) -> Result<Self, HsError> {
        if literals.is_empty() {
            return Ok(Self {
                raw: None,
                literal_count: 0,
            });
        }
        let raw = ffi::compile_literals(literals)?;
        Ok(Self {
            raw: Some(raw),
            literal_count: literals.len(),
        })
    }

    /// The database in the serialized form documented in this module, to be given to
    /// [`LiteralDatabase::deserialize`] later, by the same libhs version on a compatible CPU.
    pub fn serialize(&self) -> Result<Vec<u8>, HsError> {
        let inner = match &self.raw {
            Some(raw) => ffi::serialize(raw)?,
            None => Vec::new(),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + inner.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&ENVELOPE_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.literal_count as u64).to_le_bytes());
        out.extend_from_slice(&(inner.len() as u64).to_le_bytes());
        out.extend_from_slice(&inner);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        Ok(out)
    }

    /// Rebuilds a database from [`LiteralDatabase::serialize`]'s output. Truncated, damaged or
    /// foreign bytes, and databases from another libhs version or an incompatible CPU, are
    /// refused with [`HsError::Deserialize`].
    pub fn deserialize(bytes: &[u8]) -> Result<Self, HsError> {
        let bad = |why: &str| HsError::Deserialize(why.to_string());
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(bad("too short"));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if body.get(..4) != Some(MAGIC.as_slice()) {
            return Err(bad("not a tapwatch hyperscan database (bad magic)"));
        }
        let version = read_u32(body, 4).ok_or_else(|| bad("too short"))?;
        if version != ENVELOPE_VERSION {
            return Err(HsError::Deserialize(format!(
                "envelope version {version}, expected {ENVELOPE_VERSION}"
            )));
        }
        let count = read_u64(body, 8).ok_or_else(|| bad("too short"))?;
        let inner_len = read_u64(body, 16).ok_or_else(|| bad("too short"))?;
        let inner = body.get(HEADER_LEN..).ok_or_else(|| bad("too short"))?;
        if u64::try_from(inner.len()).ok() != Some(inner_len) {
            return Err(bad("length does not match the header (truncated?)"));
        }
        if Sha256::digest(body).as_slice() != checksum {
            return Err(bad("checksum mismatch (damaged)"));
        }
        let literal_count =
            usize::try_from(count).map_err(|_| bad("literal count does not fit this platform"))?;
        if inner.is_empty() {
            if literal_count != 0 {
                return Err(bad("literals counted but no database"));
            }
            return Ok(Self {
                raw: None,
                literal_count: 0,
            });
        }
        if literal_count == 0 {
            return Err(bad("a database but no literals counted"));
        }
        let raw = ffi::deserialize(inner)?;
        Ok(Self {
            raw: Some(raw),
            literal_count,
        })
    }

    /// The compiled database's size in bytes (`hs_database_size`); 0 for an empty set.
    pub fn size_bytes(&self) -> usize {
        self.raw.as_ref().map_or(0, |raw| ffi::database_size(raw))
    }

    /// How many literals were compiled (duplicates included).
    pub fn literal_count(&self) -> usize {
        self.literal_count
    }

    /// Calls `on_match(id)` once per literal id found anywhere in `data` (SINGLEMATCH
    /// semantics: the engine only needs the set of candidate ids per scan). An id shared by
    /// several literals that all match is reported at least once and at most once per such
    /// literal (libhs 5.4 reports it once). The order of calls is unspecified.
    ///
    /// Errors: [`HsError::Scratch`] if `scratch` was not reserved for this database,
    /// [`HsError::Scan`] if `data` is longer than `u32::MAX` bytes or libhs fails. A panic in
    /// `on_match` stops the scan and is resumed once libhs has returned.
    pub fn scan(
        &self,
        scratch: &mut Scratch,
        data: &[u8],
        mut on_match: impl FnMut(u32),
    ) -> Result<(), HsError> {
        match &self.raw {
            Some(raw) => scratch.raw_mut().scan(raw, data, &mut on_match),
            None => Ok(()),
        }
    }

    pub(crate) fn raw(&self) -> Option<&RawDatabase> {
        self.raw.as_ref()
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let raw: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(raw))
}
