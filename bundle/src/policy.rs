//! The acceptance policy a sensor applies to every bundle, whether it came over the link to
//! the center or from a watched directory, and the directory of bundles in force.
//!
//! A bundle is accepted only when, in this order: it is a well-formed bundle within the
//! limits; one of its signatures is by a trusted key and verifies (a trusted key's signature
//! that does not verify refuses it); the payload and every file match the signed manifest;
//! its kind and channel are the ones the sensor follows; it is not empty; its version is
//! above the one in force; and it holds at least `min_percent` of the entries of the one in
//! force. Each refusal is a [`Refusal`] with a stable [`Refusal::code`] for reporting.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::format::{BundleFile, FormatError, Limits, RawBundle, ReadError};
use crate::manifest::{Kind, Manifest};
use crate::sign::{KeyId, Keyring, SignatureError};
use crate::time::Timestamp;

/// What a sensor accepts for one kind of bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The kind.
    pub kind: Kind,
    /// The channel followed for that kind.
    pub channel: String,
    /// A bundle with fewer entries than this share of the one in force is refused
    /// (0 turns the check off).
    pub min_percent: u8,
    /// Bounds on the bundle.
    pub limits: Limits,
}

/// What is in force for a kind and channel: the floor for the next bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InForce {
    /// Its version.
    pub version: u64,
    /// Its entries.
    pub entries: u64,
    /// When it was built.
    pub created: Timestamp,
    /// SHA-256 of its manifest (its identity).
    pub manifest_sha256: String,
}

impl InForce {
    /// What `bundle` sets in force.
    pub fn of(bundle: &RawBundle) -> Self {
        Self {
            version: bundle.manifest.version,
            entries: bundle.manifest.entries,
            created: bundle.manifest.created,
            manifest_sha256: bundle.manifest_sha256(),
        }
    }
}

/// Why a bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a well-formed bundle, or over a limit.
    #[error("malformed bundle: {0}")]
    Malformed(FormatError),
    /// The sensor trusts no key at all.
    #[error("no trusted keys configured ([bundles] trusted_keys)")]
    NoTrustedKeys,
    /// No signature.
    #[error("unsigned bundle")]
    Unsigned,
    /// Signed only by keys the sensor does not trust.
    #[error("signed only by untrusted keys ({})", .0.iter().map(KeyId::to_string).collect::<Vec<_>>().join(", "))]
    UntrustedKey(Vec<KeyId>),
    /// A trusted key's signature does not verify: the manifest was changed.
    #[error("tampered manifest: the signature by trusted key {0} does not verify")]
    BadSignature(KeyId),
    /// The content does not match the signed manifest.
    #[error("tampered content: {0}")]
    Tampered(FormatError),
    /// Not the kind the sensor expects here.
    #[error("a {found} bundle where a {expected} bundle was expected")]
    KindMismatch {
        /// Expected.
        expected: Kind,
        /// The bundle's.
        found: Kind,
    },
    /// Not the channel the sensor follows.
    #[error("channel {found:?}, this sensor follows {expected:?}")]
    ChannelMismatch {
        /// Expected.
        expected: String,
        /// The bundle's.
        found: String,
    },
    /// No entries.
    #[error("empty bundle: no {0} in it")]
    Empty(&'static str),
    /// Not newer than the bundle in force (a replay or a rollback).
    #[error("version {version} is not above version {in_force} in force (replay or rollback)")]
    NotNewer {
        /// The bundle's.
        version: u64,
        /// In force.
        in_force: u64,
    },
    /// Drastically smaller than the bundle in force.
    #[error("{entries} entries is under {min_percent}% of the {in_force} in force (truncated or lost feed?)")]
    Shrunk {
        /// The bundle's.
        entries: u64,
        /// In force.
        in_force: u64,
        /// The threshold.
        min_percent: u8,
    },
}

impl Refusal {
    /// A stable name for the reason, for logs, metrics and the report to the center.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::NoTrustedKeys => "no_trusted_keys",
            Refusal::Unsigned => "unsigned",
            Refusal::UntrustedKey(_) => "untrusted_key",
            Refusal::BadSignature(_) => "bad_signature",
            Refusal::Tampered(_) => "tampered",
            Refusal::KindMismatch { .. } => "kind_mismatch",
            Refusal::ChannelMismatch { .. } => "channel_mismatch",
            Refusal::Empty(_) => "empty",
            Refusal::NotNewer { .. } => "not_newer",
            Refusal::Shrunk { .. } => "shrunk",
        }
    }
}

impl From<SignatureError> for Refusal {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Unsigned => Refusal::Unsigned,
            SignatureError::UntrustedKey(ids) => Refusal::UntrustedKey(ids),
            SignatureError::BadSignature(id) => Refusal::BadSignature(id),
        }
    }
}

/// An accepted bundle.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The bundle.
    pub bundle: RawBundle,
    /// Its files, checked.
    pub files: Vec<BundleFile>,
    /// The trusted key whose signature was verified.
    pub signed_by: KeyId,
}

/// Applies the policy to a bundle's bytes.
pub fn check(
    bytes: &[u8],
    keyring: &Keyring,
    policy: &Policy,
    in_force: Option<&InForce>,
) -> Result<Accepted, Refusal> {
    let raw = RawBundle::parse(bytes, &policy.limits).map_err(Refusal::Malformed)?;
    check_raw(raw, keyring, policy, in_force)
}

/// Applies the policy to a parsed bundle.
pub fn check_raw(
    raw: RawBundle,
    keyring: &Keyring,
    policy: &Policy,
    in_force: Option<&InForce>,
) -> Result<Accepted, Refusal> {
    if keyring.is_empty() {
        return Err(Refusal::NoTrustedKeys);
    }
    let signed_by = keyring.verify(&raw)?;
    let files = raw.open_content().map_err(|e| match e {
        FormatError::PayloadHash
        | FormatError::FileHash(_)
        | FormatError::ContentLength { .. }
        | FormatError::CountMismatch { .. } => Refusal::Tampered(e),
        e => Refusal::Malformed(e),
    })?;
    let m = &raw.manifest;
    if m.kind != policy.kind {
        return Err(Refusal::KindMismatch {
            expected: policy.kind,
            found: m.kind,
        });
    }
    if m.channel != policy.channel {
        return Err(Refusal::ChannelMismatch {
            expected: policy.channel.clone(),
            found: m.channel.clone(),
        });
    }
    if m.entries == 0 {
        return Err(Refusal::Empty(match m.kind {
            Kind::Rules => "rules",
            Kind::Ioc => "IOC entries",
        }));
    }
    if let Some(cur) = in_force {
        if m.version <= cur.version {
            return Err(Refusal::NotNewer {
                version: m.version,
                in_force: cur.version,
            });
        }
        if u128::from(m.entries) * 100 < u128::from(cur.entries) * u128::from(policy.min_percent) {
            return Err(Refusal::Shrunk {
                entries: m.entries,
                in_force: cur.entries,
                min_percent: policy.min_percent,
            });
        }
    }
    Ok(Accepted {
        bundle: raw,
        files,
        signed_by,
    })
}

/// A failure of the directory of bundles in force.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A bundle in force does not read.
    #[error("bundle in force {path}: {source}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        source: FormatError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory holding the bundle in force for each kind and channel,
/// `<kind>-<channel>.twb`, each replaced atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleDir {
    dir: PathBuf,
}

impl BundleDir {
    /// The directory `dir` (created when a bundle is installed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The file of the bundle in force for `kind` and `channel`.
    pub fn file(&self, kind: Kind, channel: &str) -> PathBuf {
        self.dir.join(format!("{}-{channel}.twb", kind.as_str()))
    }

    /// The bundle in force for `kind` and `channel`, if any. Its signature is not checked
    /// again: it was when it was installed, and a key removed from the keyring since must not
    /// lower the floor a replay has to pass.
    pub fn in_force_bundle(
        &self,
        kind: Kind,
        channel: &str,
        limits: &Limits,
    ) -> Result<Option<RawBundle>, StoreError> {
        let path = self.file(kind, channel);
        match RawBundle::read_file(&path, limits) {
            Ok(b) => Ok(Some(b)),
            Err(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(ReadError::Io { path, source }) => Err(StoreError::Io { path, source }),
            Err(ReadError::Format(source)) => Err(StoreError::Damaged { path, source }),
        }
    }

    /// What is in force for `kind` and `channel`, if anything.
    pub fn in_force(
        &self,
        kind: Kind,
        channel: &str,
        limits: &Limits,
    ) -> Result<Option<InForce>, StoreError> {
        Ok(self
            .in_force_bundle(kind, channel, limits)?
            .as_ref()
            .map(InForce::of))
    }

    /// Puts an accepted bundle in force: written to a temporary file, synced, renamed over
    /// the previous one, the directory synced. Returns its path.
    pub fn install(&self, accepted: &Accepted) -> Result<PathBuf, StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let m = &accepted.bundle.manifest;
        let path = self.file(m.kind, &m.channel);
        let tmp = self
            .dir
            .join(format!(".{}-{}.twb.tmp", m.kind.as_str(), m.channel));
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&accepted.bundle.to_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io_err(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.dir))?;
        Ok(path)
    }

    /// Checks `bytes` against `policy` and what is in force, and installs it when accepted.
    pub fn offer(
        &self,
        bytes: &[u8],
        keyring: &Keyring,
        policy: &Policy,
    ) -> Result<Result<Accepted, Refusal>, StoreError> {
        let in_force = self.in_force(policy.kind, &policy.channel, &policy.limits)?;
        match check(bytes, keyring, policy, in_force.as_ref()) {
            Ok(a) => {
                self.install(&a)?;
                Ok(Ok(a))
            }
            Err(r) => Ok(Err(r)),
        }
    }
}

/// What became of one file of the drop directory.
#[derive(Debug)]
pub struct DropOutcome {
    /// The file as it was found.
    pub file: PathBuf,
    /// The accepted bundle's manifest, or why it was refused.
    pub result: Result<Manifest, Refusal>,
}

/// Suffix given to a refused file of the drop directory; the reason is written beside it in
/// `<name>.refused.txt`.
pub const REFUSED_SUFFIX: &str = ".refused";

/// Takes every `*.twb` file of `drop` (in name order), applies the policy of its kind
/// (`policies`: one per kind the sensor follows) and installs it in `dir` when accepted; an
/// accepted file is removed from `drop`, a refused one renamed with [`REFUSED_SUFFIX`] and its
/// reason written beside it, so an operator of an air-gapped sensor sees why.
pub fn process_drop_dir(
    drop: &Path,
    dir: &BundleDir,
    keyring: &Keyring,
    policies: &[Policy],
) -> Result<Vec<DropOutcome>, StoreError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(drop)
        .map_err(io_err(drop))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            n.ends_with(".twb") && !n.starts_with('.')
        })
        .collect();
    names.sort();
    let limits = policies.first().map(|p| p.limits).unwrap_or_default();
    let mut out = Vec::with_capacity(names.len());
    for file in names {
        let result = match RawBundle::read_file(&file, &limits) {
            Err(ReadError::Io { path, source }) => return Err(StoreError::Io { path, source }),
            Err(ReadError::Format(e)) => Err(Refusal::Malformed(e)),
            Ok(raw) => match policies.iter().find(|p| p.kind == raw.manifest.kind) {
                None => Err(Refusal::KindMismatch {
                    expected: policies.first().map_or(Kind::Rules, |p| p.kind),
                    found: raw.manifest.kind,
                }),
                Some(p) => {
                    let in_force = dir.in_force(p.kind, &p.channel, &p.limits)?;
                    check_raw(raw, keyring, p, in_force.as_ref())
                }
            },
        };
        let result = match result {
            Ok(a) => {
                dir.install(&a)?;
                std::fs::remove_file(&file).map_err(io_err(&file))?;
                Ok(a.bundle.manifest)
            }
            Err(r) => {
                let mut refused = file.clone().into_os_string();
                refused.push(REFUSED_SUFFIX);
                let refused = PathBuf::from(refused);
                std::fs::rename(&file, &refused).map_err(io_err(&file))?;
                let mut reason = refused.clone().into_os_string();
                reason.push(".txt");
                let reason = PathBuf::from(reason);
                std::fs::write(&reason, format!("refused ({}): {r}\n", r.code()))
                    .map_err(io_err(&reason))?;
                Err(r)
            }
        };
        out.push(DropOutcome { file, result });
    }
    Ok(out)
}
