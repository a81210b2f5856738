//! The container: one file holding the manifest, the signatures and the compressed content.
//!
//! ```text
//! offset   size    field
//! 0        8       magic "TWBUNDLE"
//! 8        2       container format version, little-endian (1)
//! 10       2       reserved, 0
//! 12       4       manifest length M, little-endian (1 ..= Limits::max_manifest_bytes)
//! 16       M       manifest: UTF-8 JSON (manifest.rs), the signed bytes
//! 16+M     2       signature count S (0 ..= MAX_SIGNATURES)
//! ...      S×104   signatures: key id (8 bytes), Ed25519 public key (32), signature (64)
//! ...      8       payload length P, little-endian (= manifest payload.bytes)
//! ...      P       payload: one zstd frame, the files' contents concatenated in manifest order
//! ```
//!
//! Nothing may follow the payload. Each signature signs `SIGNING_CONTEXT || manifest bytes`.
//! Every length is checked against the bytes present and against [`Limits`] before anything
//! is allocated for it; the payload is decompressed only after its SHA-256 matched the
//! (signed) manifest, into at most `payload.content_bytes` bytes.

use std::io::Read as _;

use sha2::{Digest as _, Sha256};

use crate::manifest::{FileEntry, Manifest};
use crate::sign::{KeyId, SignatureRecord};

/// The first bytes of every bundle file.
pub const MAGIC: &[u8; 8] = b"TWBUNDLE";
/// The container and manifest format this library writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// At most this many signatures on one bundle.
pub const MAX_SIGNATURES: usize = 16;
/// Bytes of one signature record.
pub const SIGNATURE_RECORD_BYTES: usize = 8 + 32 + 64;

/// Bounds on what a bundle may hold: a bundle file is untrusted input until verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole file.
    pub max_bundle_bytes: u64,
    /// The manifest.
    pub max_manifest_bytes: u32,
    /// The content once decompressed (sum of the files).
    pub max_content_bytes: u64,
    /// Files in one bundle.
    pub max_files: usize,
}

impl Default for Limits {
    /// 256 MiB per file, 4 MiB of manifest, 1 GiB of content, 10,000 files: room for a few
    /// million IOC entries or every public rule set together.
    fn default() -> Self {
        Self {
            max_bundle_bytes: 256 << 20,
            max_manifest_bytes: 4 << 20,
            max_content_bytes: 1 << 30,
            max_files: 10_000,
        }
    }
}

/// Why bytes are not a well-formed bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file does not start with [`MAGIC`].
    #[error("not a tapwatch bundle (no TWBUNDLE magic)")]
    NotABundle,
    /// A container or manifest format this library does not read.
    #[error(
        "bundle format version {0} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    UnsupportedVersion(u16),
    /// The file ends before a field it announces.
    #[error("bundle truncated: {what} needs {needed} bytes, {available} left")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Bytes it needs.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// Bytes after the payload.
    #[error("{0} bytes after the payload")]
    TrailingBytes(u64),
    /// Something is larger than its limit.
    #[error("{what} of {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// What.
        what: &'static str,
        /// Its size (or count).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The reserved field is not zero.
    #[error("reserved header field is {0:#06x}, not 0")]
    Reserved(u16),
    /// The manifest is not valid JSON of the manifest's shape, or breaks a rule of the format.
    #[error("bad manifest: {0}")]
    BadManifest(String),
    /// More signature records than [`MAX_SIGNATURES`].
    #[error("{0} signatures (at most {MAX_SIGNATURES})")]
    TooManySignatures(usize),
    /// Two signatures by the same key.
    #[error("two signatures by key {0}")]
    DuplicateSignature(KeyId),
    /// A signature record's key id is not the id of the public key it holds.
    #[error("signature record names key {named} but holds key {actual}")]
    KeyIdMismatch {
        /// The id written in the record.
        named: KeyId,
        /// The id of the key in the record.
        actual: KeyId,
    },
    /// A signature record holds bytes that are not an Ed25519 public key.
    #[error("signature record of key {0} holds an invalid public key")]
    BadPublicKey(KeyId),
    /// The payload length is not the manifest's.
    #[error("payload is {actual} bytes, the manifest says {declared}")]
    PayloadLength {
        /// From the manifest.
        declared: u64,
        /// In the file.
        actual: u64,
    },
    /// The compressed payload's SHA-256 is not the manifest's.
    #[error("payload does not match the manifest's sha256 (tampered or damaged)")]
    PayloadHash,
    /// The payload does not decompress.
    #[error("payload does not decompress: {0}")]
    Decompress(String),
    /// The payload decompresses to other than the manifest's content size.
    #[error("payload decompresses to {actual} bytes, the manifest says {declared}")]
    ContentLength {
        /// From the manifest.
        declared: u64,
        /// Decompressed (at most one byte past the declared size is read).
        actual: u64,
    },
    /// A file's SHA-256 is not the manifest's.
    #[error("file {0:?} does not match the manifest's sha256 (tampered or damaged)")]
    FileHash(String),
    /// The content disagrees with the manifest's counts.
    #[error("content holds {actual} entries, the manifest says {declared}")]
    CountMismatch {
        /// From the manifest.
        declared: u64,
        /// Counted in the content.
        actual: u64,
    },
    /// A content file is not what its role demands.
    #[error("file {name:?}: {reason}")]
    BadContent {
        /// The file.
        name: String,
        /// Why.
        reason: String,
    },
}

/// A bundle read from its bytes: manifest parsed and validated, signatures parsed (not yet
/// verified), payload still compressed.
#[derive(Debug, Clone)]
pub struct RawBundle {
    /// The manifest's bytes as in the file: what the signatures sign.
    pub manifest_bytes: Vec<u8>,
    /// The manifest parsed.
    pub manifest: Manifest,
    /// The signature records.
    pub signatures: Vec<SignatureRecord>,
    /// The compressed payload.
    pub payload: Vec<u8>,
}

/// A file of a bundle with its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Its manifest entry.
    pub entry: FileEntry,
    /// Its contents.
    pub data: Vec<u8>,
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], FormatError> {
        let available = self.rest.len() as u64;
        if n > available {
            return Err(FormatError::Truncated {
                what,
                needed: n,
                available,
            });
        }
        // n ≤ rest.len(), so it fits in usize.
        let (head, tail) = self.rest.split_at(n as usize);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FormatError> {
        let s = self.take(N as u64, what)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

impl RawBundle {
    /// Reads a bundle from its bytes, checking every length against `limits` and the bytes
    /// present. Does not verify signatures or decompress.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, FormatError> {
        if bytes.len() as u64 > limits.max_bundle_bytes {
            return Err(FormatError::TooLarge {
                what: "bundle",
                size: bytes.len() as u64,
                limit: limits.max_bundle_bytes,
            });
        }
        let mut c = Cursor { rest: bytes };
        let magic: [u8; 8] = c.array("magic").map_err(|_| FormatError::NotABundle)?;
        if &magic != MAGIC {
            return Err(FormatError::NotABundle);
        }
        let version = u16::from_le_bytes(c.array("format version")?);
        if version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        let reserved = u16::from_le_bytes(c.array("reserved")?);
        if reserved != 0 {
            return Err(FormatError::Reserved(reserved));
        }
        let mlen = u32::from_le_bytes(c.array("manifest length")?);
        if mlen > limits.max_manifest_bytes {
            return Err(FormatError::TooLarge {
                what: "manifest",
                size: u64::from(mlen),
                limit: u64::from(limits.max_manifest_bytes),
            });
        }
        let manifest_bytes = c.take(u64::from(mlen), "manifest")?.to_vec();
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| FormatError::BadManifest(e.to_string()))?;
        manifest.validate(limits)?;
        let count = usize::from(u16::from_le_bytes(c.array("signature count")?));
        if count > MAX_SIGNATURES {
            return Err(FormatError::TooManySignatures(count));
        }
        let mut signatures = Vec::with_capacity(count);
        for _ in 0..count {
            let rec: [u8; SIGNATURE_RECORD_BYTES] = c.array("signature")?;
            let rec = SignatureRecord::from_bytes(&rec)?;
            if signatures
                .iter()
                .any(|s: &SignatureRecord| s.key_id == rec.key_id)
            {
                return Err(FormatError::DuplicateSignature(rec.key_id));
            }
            signatures.push(rec);
        }
        let plen = u64::from_le_bytes(c.array("payload length")?);
        if plen != manifest.payload.bytes {
            return Err(FormatError::PayloadLength {
                declared: manifest.payload.bytes,
                actual: plen,
            });
        }
        let payload = c.take(plen, "payload")?.to_vec();
        if !c.rest.is_empty() {
            return Err(FormatError::TrailingBytes(c.rest.len() as u64));
        }
        Ok(Self {
            manifest_bytes,
            manifest,
            signatures,
            payload,
        })
    }

    /// Reads a bundle file, refusing one larger than `limits.max_bundle_bytes` before reading.
    pub fn read_file(path: &std::path::Path, limits: &Limits) -> Result<Self, ReadError> {
        Ok(Self::parse(
            &read_bounded(path, limits.max_bundle_bytes)?,
            limits,
        )?)
    }

    /// The bytes of the bundle file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            16 + self.manifest_bytes.len()
                + 2
                + self.signatures.len() * SIGNATURE_RECORD_BYTES
                + 8
                + self.payload.len(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        let mlen = u32::try_from(self.manifest_bytes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&mlen.to_le_bytes());
        out.extend_from_slice(&self.manifest_bytes);
        let count = u16::try_from(self.signatures.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_le_bytes());
        for s in &self.signatures {
            out.extend_from_slice(&s.to_bytes());
        }
        out.extend_from_slice(&(self.payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// SHA-256 of the manifest's bytes: the bundle's identity (the signatures aside, it
    /// pins every byte).
    pub fn manifest_sha256(&self) -> String {
        sha256_hex(&self.manifest_bytes)
    }

    /// Checks the payload against the manifest, decompresses it into at most the manifest's
    /// content size, splits it into the files and checks each one's size and SHA-256. Call it
    /// after the signatures were verified: the manifest it trusts is the signed one.
    pub fn open_content(&self) -> Result<Vec<BundleFile>, FormatError> {
        if sha256_hex(&self.payload) != self.manifest.payload.sha256 {
            return Err(FormatError::PayloadHash);
        }
        let declared = self.manifest.payload.content_bytes;
        let mut decoder = zstd::stream::read::Decoder::with_buffer(&self.payload[..])
            .map_err(|e| FormatError::Decompress(e.to_string()))?
            .single_frame();
        // `validate` held content_bytes to max_content_bytes; reading one byte more tells a
        // payload that decompresses to more than declared.
        let mut content = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        (&mut decoder)
            .take(declared.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(|e| FormatError::Decompress(e.to_string()))?;
        if content.len() as u64 != declared {
            return Err(FormatError::ContentLength {
                declared,
                actual: content.len() as u64,
            });
        }
        let mut files = Vec::with_capacity(self.manifest.files.len());
        let mut rest = &content[..];
        for entry in &self.manifest.files {
            // The sizes add up to content.len() (checked above and by `validate`).
            let (data, tail) = rest.split_at(
                usize::try_from(entry.bytes)
                    .unwrap_or(usize::MAX)
                    .min(rest.len()),
            );
            rest = tail;
            if sha256_hex(data) != entry.sha256 {
                return Err(FormatError::FileHash(entry.name.clone()));
            }
            files.push(BundleFile {
                entry: entry.clone(),
                data: data.to_vec(),
            });
        }
        let actual = crate::content::count_entries(self.manifest.kind, &files)?;
        if actual != self.manifest.entries {
            return Err(FormatError::CountMismatch {
                declared: self.manifest.entries,
                actual,
            });
        }
        Ok(files)
    }
}

/// A bundle file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file system.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes.
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// Reads a file of at most `limit` bytes: its size is checked before anything is allocated,
/// and at most `limit + 1` bytes are read should it grow meanwhile.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > limit {
        return Err(FormatError::TooLarge {
            what: "bundle",
            size: len,
            limit,
        }
        .into());
    }
    let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() as u64 > limit {
        return Err(FormatError::TooLarge {
            what: "bundle",
            size: data.len() as u64,
            limit,
        }
        .into());
    }
    Ok(data)
}
