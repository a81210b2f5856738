//! The manifest: what a bundle is (kind, channel, version, time) and what it holds (every
//! file by name, role, size and SHA-256; the compressed payload by size and SHA-256). The
//! signatures cover the manifest's exact bytes, so the manifest pins every byte of content.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;
use crate::{FormatError, Limits, FORMAT_VERSION};

/// What a bundle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A rule set: rule files, `classification.config`, `threshold.config`, variables.
    Rules,
    /// An IOC set: one JSON-lines file of indicators (`ioc.rs`).
    Ioc,
}

impl Kind {
    /// The name used in manifests, file names and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rules => "rules",
            Kind::Ioc => "ioc",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "rules" => Some(Kind::Rules),
            "ioc" => Some(Kind::Ioc),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a file of a bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A Suricata rule file (`.rules`).
    Rules,
    /// `classification.config`.
    Classification,
    /// `threshold.config`.
    Threshold,
    /// Rule variables, one `NAME=VALUE` a line (`#` comments), as `--var` takes them.
    Vars,
    /// IOC entries, one JSON object a line (`ioc.rs`).
    Ioc,
}

impl Role {
    /// The kind of bundle that may hold files of this role.
    pub fn kind(self) -> Kind {
        match self {
            Role::Rules | Role::Classification | Role::Threshold | Role::Vars => Kind::Rules,
            Role::Ioc => Kind::Ioc,
        }
    }

    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rules => "rules",
            Role::Classification => "classification",
            Role::Threshold => "threshold",
            Role::Vars => "vars",
            Role::Ioc => "ioc",
        }
    }
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative path (`emerging-dns.rules`, `etc/classification.config`).
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its contents, lowercase hex.
    pub sha256: String,
}

/// The compressed payload: every file's contents, concatenated in manifest order, as one
/// zstd frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// Always `"zstd"` in format version 1.
    pub compression: String,
    /// Compressed size in bytes.
    pub bytes: u64,
    /// SHA-256 of the compressed bytes, lowercase hex: checked before decompression.
    pub sha256: String,
    /// Uncompressed size: the sum of the files' sizes.
    pub content_bytes: u64,
}

/// A bundle's manifest, the signed part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The bundle format version ([`FORMAT_VERSION`]).
    pub format_version: u16,
    /// Rules or IOCs.
    pub kind: Kind,
    /// The distribution channel (`national`, `national-test`, a sector): a sensor follows one
    /// channel per kind and refuses bundles of others.
    pub channel: String,
    /// Increases with every bundle published on the channel; a sensor refuses a version not
    /// above the one in force (replay, rollback).
    pub version: u64,
    /// When the bundle was built (UTC).
    pub created: Timestamp,
    /// Rules (enabled rule lines over all rule files) or IOC entries: what the "empty" and
    /// "drastically smaller" checks compare.
    pub entries: u64,
    /// For rule sets: rules per rule file name; for IOC sets: entries per indicator type.
    pub counts: BTreeMap<String, u64>,
    /// The compressed payload.
    pub payload: Payload,
    /// The files, in payload order.
    pub files: Vec<FileEntry>,
}

/// Whether `s` is a channel name: 1 to 64 characters of `a-z 0-9 . _ -`.
pub fn valid_channel(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// Whether `s` is a file name a bundle may hold: a relative path of 1 to 255 bytes of
/// `A-Z a-z 0-9 . _ - /`, no empty, `.` or `..` component, not starting with `/`.
pub fn valid_file_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && s.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Manifest {
    /// Checks what the format demands of a manifest, within `limits`.
    pub fn validate(&self, limits: &Limits) -> Result<(), FormatError> {
        let bad = |m: String| Err(FormatError::BadManifest(m));
        if self.format_version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion(self.format_version));
        }
        if !valid_channel(&self.channel) {
            return bad(format!(
                "channel {:?}: expected 1 to 64 characters of a-z 0-9 . _ -",
                self.channel
            ));
        }
        if self.version == 0 {
            return bad("version 0: versions start at 1".into());
        }
        if self.payload.compression != "zstd" {
            return bad(format!(
                "compression {:?}: only \"zstd\"",
                self.payload.compression
            ));
        }
        if !is_sha256_hex(&self.payload.sha256) {
            return bad("payload sha256 is not 64 lowercase hex digits".into());
        }
        if self.files.len() > limits.max_files {
            return Err(FormatError::TooLarge {
                what: "files",
                size: self.files.len() as u64,
                limit: limits.max_files as u64,
            });
        }
        let mut names = BTreeSet::new();
        let mut singletons = BTreeSet::new();
        let mut total: u64 = 0;
        for f in &self.files {
            if !valid_file_name(&f.name) {
                return bad(format!(
                    "file name {:?} is not a plain relative path",
                    f.name
                ));
            }
            if !names.insert(f.name.as_str()) {
                return bad(format!("file {:?} twice", f.name));
            }
            if f.role.kind() != self.kind {
                return bad(format!(
                    "file {:?} has role {} in a {} bundle",
                    f.name,
                    f.role.as_str(),
                    self.kind
                ));
            }
            if f.role != Role::Rules && !singletons.insert(f.role) {
                return bad(format!("more than one {} file", f.role.as_str()));
            }
            if !is_sha256_hex(&f.sha256) {
                return bad(format!(
                    "file {:?}: sha256 is not 64 lowercase hex digits",
                    f.name
                ));
            }
            total = total
                .checked_add(f.bytes)
                .ok_or_else(|| FormatError::BadManifest("file sizes overflow".into()))?;
        }
        if total != self.payload.content_bytes {
            return bad(format!(
                "content_bytes {} is not the sum of the file sizes ({total})",
                self.payload.content_bytes
            ));
        }
        if total > limits.max_content_bytes {
            return Err(FormatError::TooLarge {
                what: "content",
                size: total,
                limit: limits.max_content_bytes,
            });
        }
        if self.payload.bytes > limits.max_bundle_bytes {
            return Err(FormatError::TooLarge {
                what: "payload",
                size: self.payload.bytes,
                limit: limits.max_bundle_bytes,
            });
        }
        Ok(())
    }
}
